import { setTimeout as sleep } from "node:timers/promises";
import { Redis, type RedisOptions } from "ioredis";
import { VigilError, errorMessage } from "./errors.js";
import { redactSecrets, type Logger } from "./logger.js";

/** Why Vigil could not reach Redis: each has its own message and the CLI exits 2 on all three. */
export type RedisProblem = "url" | "auth" | "unreachable";

/** Redis could not be used at start-up: a malformed URL, refused credentials, or nothing answering in time. */
export class RedisConnectError extends VigilError {
  readonly problem: RedisProblem;
  constructor(problem: RedisProblem, message: string, options?: { cause?: unknown }) {
    super(`REDIS_${problem.toUpperCase()}`, message, { problem }, options);
    this.problem = problem;
  }
}

const URL_SHAPE = "redis://host[:port][/db] or rediss://…, with user and password before the host when needed";

/**
 * Checks that `url` is a Redis URL ioredis will read as one. ioredis takes anything else for a
 * Unix socket path and retries it forever, so a typo would otherwise look like an outage.
 */
export function checkRedisUrl(url: string): void {
  const shown = url.includes("@") ? `…@${url.slice(url.lastIndexOf("@") + 1)}` : url;
  const fail = (why: string): never => {
    throw new RedisConnectError(
      "url",
      `redis.url "${redactSecrets(shown)}" is not a Redis URL (${why}); expected ${URL_SHAPE}`,
    );
  };
  const parsed = URL.canParse(url) ? new URL(url) : fail("it does not parse as a URL");
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    fail(`scheme "${parsed.protocol.replace(/:$/, "")}"`);
  if (!parsed.hostname) fail("no host");
  if (!/^\/?(\d+)?$/.test(parsed.pathname)) fail(`the path "${parsed.pathname}" is not a database number`);
}

/**
 * The one way Vigil opens Redis connections. Safe for BullMQ workers (no per-request retry cap).
 * The URL is checked first; the command arguments of failed commands (AUTH carries the password)
 * are stripped from the errors this connection emits, so no library prints them.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  checkRedisUrl(url);
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
  redis.prependListener("error", stripCommandArguments);
  return redis;
}

/** Replaces `err.command` (`{ name, args }`) by its name alone, in place, before any other listener sees it. */
function stripCommandArguments(err: unknown): void {
  if (typeof err !== "object" || err === null || !("command" in err)) return;
  const command = (err as { command?: unknown }).command;
  if (typeof command === "object" && command !== null && "args" in command) {
    (err as { command: unknown }).command = { name: (command as { name?: unknown }).name };
  }
}

export interface ConnectRedisOptions {
  /** How long to keep trying while nothing answers (default 10 s). Refused credentials fail at once. */
  timeoutMs?: number;
  /** Gets one JSON line per retry. */
  logger?: Logger;
  /** Stops waiting (e.g. SIGTERM during start-up); rejects with the signal's reason. */
  signal?: AbortSignal;
}

const WRONG_CREDENTIALS = /WRONGPASS|NOAUTH|invalid password|invalid username-password|NOPERM/i;

/**
 * Waits until Redis answers PING, retrying with backoff for at most `timeoutMs`, and returns a
 * connection made with {@link createRedis}. Fails with a {@link RedisConnectError} naming the problem.
 */
export async function connectRedis(url: string, options: number | ConnectRedisOptions = {}): Promise<Redis> {
  const { timeoutMs = 10_000, logger, signal } = typeof options === "number" ? { timeoutMs: options } : options;
  checkRedisUrl(url);
  const shownUrl = redactUrl(url);
  const deadline = Date.now() + timeoutMs;
  let delayMs = 250;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const remaining = Math.max(50, deadline - Date.now());
    const probe = new Redis(url, {
      lazyConnect: true,
      retryStrategy: () => null,
      connectTimeout: Math.min(remaining, 5_000),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    probe.prependListener("error", stripCommandArguments);
    let emitted: unknown;
    probe.on("error", (err: unknown) => (emitted ??= err)); // the cause; connect() itself rejects with "Connection is closed"
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return createRedis(url);
    } catch (err) {
      probe.disconnect();
      const cause = emitted ?? err;
      stripCommandArguments(cause);
      const reason = redactSecrets(errorMessage(cause));
      if (WRONG_CREDENTIALS.test(reason)) {
        throw new RedisConnectError("auth", `Redis at ${shownUrl} refused the credentials in redis.url (${reason})`);
      }
      const waitMs = Math.min(delayMs, deadline - Date.now());
      if (waitMs <= 0) {
        throw new RedisConnectError(
          "unreachable",
          `Redis at ${shownUrl} did not answer within ${formatSeconds(timeoutMs)} (${reason}); start Redis or point redis.url at one`,
        );
      }
      logger?.warn({ redis: shownUrl, attempt, retryInMs: waitMs, err: reason }, "waiting for Redis");
      await sleep(waitMs, undefined, signal ? { signal } : {});
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Logs a running connection's trouble as JSON lines, without flooding: the first error of an
 * outage, then the same error at most every `repeatMs` with how often it recurred, and one line
 * when the connection is back.
 */
export function watchRedis(redis: Redis, logger: Logger, url: string, repeatMs = 10_000): void {
  const shownUrl = redactUrl(url);
  let downSince: number | undefined;
  let lastMessage = "";
  let lastLoggedAt = 0;
  let repeated = 0;
  redis.on("error", (err: unknown) => {
    const now = Date.now();
    const message = redactSecrets(errorMessage(err));
    downSince ??= now;
    if (message === lastMessage && now - lastLoggedAt < repeatMs) {
      repeated++;
      return;
    }
    logger.error(
      { redis: shownUrl, err, ...(repeated ? { repeated } : {}), downForMs: now - downSince },
      "redis connection error",
    );
    lastMessage = message;
    lastLoggedAt = now;
    repeated = 0;
  });
  redis.on("ready", () => {
    if (downSince === undefined) return;
    logger.info({ redis: shownUrl, downForMs: Date.now() - downSince }, "redis connection restored");
    downSince = undefined;
    lastMessage = "";
    repeated = 0;
  });
}

/** A URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<invalid url>";
  }
}

/**
 * Names every key Vigil writes. All keys share the hash tag `{prefix}`, so multi-key
 * Lua scripts stay valid on Redis Cluster.
 */
export class Keyspace {
  readonly tag: string;
  constructor(readonly prefix: string) {
    this.tag = `{${prefix}}`;
  }
  key(...parts: (string | number)[]): string {
    return `${this.tag}:${parts.join(":")}`;
  }
  /** The BullMQ `prefix` option for this keyspace. */
  get queuePrefix(): string {
    return this.tag;
  }
}

/** Deletes every key of a keyspace (tests and replay namespaces). */
export async function deleteKeyspace(redis: Redis, keyspace: Keyspace): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  const pattern = `${keyspace.tag.replace(/[*?[\]]/g, "\\$&")}:*`;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
