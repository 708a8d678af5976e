import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import clusterKeySlot from "cluster-key-slot";
import type { RedisConfig } from "./config.js";
import { VigilError, errorMessage } from "./errors.js";
import { redactSecrets, type Logger } from "./logger.js";

/**
 * A connection made by {@link createRedis}: a `Redis` (standalone, or a master found through
 * Sentinel) or a `Cluster`. The same commands on both; what differs (SCAN, INFO) goes through
 * {@link scanKeys} and {@link redisTopology}.
 */
export type RedisClient = Redis | Cluster;

/** Where a config says Redis is: a standalone URL, a cluster's seed nodes, or Sentinels. */
export type RedisTarget = string | RedisConfig;

/**
 * Why Vigil could not use Redis at start-up; each has its own message and the CLI exits 2 on all:
 * a malformed URL, refused credentials, nothing answering, TLS refused (or its files unreadable),
 * a cluster not serving every slot (or a seed node that is no cluster node), a Sentinel that
 * names no master.
 */
export type RedisProblem = "url" | "auth" | "unreachable" | "tls" | "cluster" | "sentinel";

/** Redis could not be used at start-up: see {@link RedisProblem}. */
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

/** Options every Vigil connection shares: safe for BullMQ workers (no per-request retry cap). */
const BASE_OPTIONS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

/** `host:port` (or `[v6]:port`) as ioredis's `{ host, port }`. */
function parseNode(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(":");
  return { host: node.slice(0, colon).replace(/^\[(.*)\]$/, "$1"), port: Number(node.slice(colon + 1)) };
}

/** The Node TLS options of `redis.tls` (its files read now), or undefined when TLS is off. */
function tlsOptions(config: RedisConfig, on: boolean): TlsOptions | undefined {
  if (!on) return undefined;
  const tls: TlsOptions = {};
  const read = (key: "caFile" | "certFile" | "keyFile"): Buffer | undefined => {
    const path = config.tls?.[key];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new RedisConnectError(
        "tls",
        `redis.tls.${key} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`,
      );
    }
  };
  const ca = read("caFile");
  const cert = read("certFile");
  const key = read("keyFile");
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (config.tls?.servername) tls.servername = config.tls.servername;
  return tls;
}

function credentials(auth: { username?: string | undefined; password?: string | undefined }): RedisOptions {
  return {
    ...(auth.username !== undefined ? { username: auth.username } : {}),
    ...(auth.password !== undefined ? { password: auth.password } : {}),
  };
}

/** ioredis options for the master behind Sentinels. */
function sentinelOptions(config: RedisConfig & { sentinel: NonNullable<RedisConfig["sentinel"]> }): RedisOptions {
  const { sentinel } = config;
  const tls = tlsOptions(config, config.tls !== undefined);
  return {
    sentinels: sentinel.sentinels.map(parseNode),
    name: sentinel.masterName,
    db: sentinel.db,
    ...credentials(sentinel),
    ...(sentinel.sentinelUsername !== undefined ? { sentinelUsername: sentinel.sentinelUsername } : {}),
    ...(sentinel.sentinelPassword !== undefined ? { sentinelPassword: sentinel.sentinelPassword } : {}),
    ...(tls ? { tls, enableTLSForSentinelMode: true } : {}),
    ...(sentinel.sentinelTls ? { sentinelTLS: tlsOptions(config, true) ?? {} } : {}),
  };
}

/** ioredis options for a cluster's nodes (BullMQ reads `maxRetriesPerRequest` here). */
function clusterOptions(
  config: RedisConfig & { cluster: NonNullable<RedisConfig["cluster"]> },
  redisOptions: RedisOptions,
): ClusterOptions {
  const tls = tlsOptions(config, config.tls !== undefined);
  return {
    // No ready check (CLUSTER INFO on a random node, before "ready"): when it fails, ioredis
    // disconnects and reconnects on its own and the promise of the `connect()` that ran it never
    // settles (redis/ioredis#741). During a failover it fails often (the random node is the dead
    // primary, or one that still says cluster_state:fail), and BullMQ awaits `connect()` when it
    // reconnects a worker's blocking connection: that worker then never fetches a job again. Without
    // the check, a connection is ready once it has a slot map; a command sent while the cluster is
    // down is retried (CLUSTERDOWN, retryDelayOnClusterDown) as on any other failover error, and
    // connectRedis checks cluster_state:ok itself at start-up.
    enableReadyCheck: false,
    // A command rides through a failover (a primary down until a replica takes over: CLUSTERDOWN,
    // closed connections, MOVED to the new primary) for about a minute, as a standalone connection
    // waits through an outage, rather than failing the job it belongs to after 16 quick redirections.
    maxRedirections: 120,
    retryDelayOnFailover: 250,
    retryDelayOnClusterDown: 500,
    retryDelayOnTryAgain: 250,
    // The slot map is read again every 2 s, not only on MOVED: a refresh taken just after a primary
    // died (before its replica was promoted) would otherwise be the last one, and commands queued on
    // the dead node's connection would wait on it for good. A newer map drops that node, which
    // hands its queued commands back to be retried on the new primary.
    slotsRefreshInterval: 2_000,
    // Nodes announce IPs; with TLS the certificate is checked against `servername`, not the IP.
    ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    redisOptions: { ...BASE_OPTIONS, ...credentials(config.cluster), ...(tls ? { tls } : {}), ...redisOptions },
  };
}

/** How a target is named in messages and logs: no password, and the config key to look at. */
export function describeRedis(target: RedisTarget): string {
  if (typeof target === "string") return redactUrl(target);
  if (target.cluster) return `Redis Cluster (seed nodes ${target.cluster.nodes.join(", ")})`;
  if (target.sentinel)
    return `Redis master "${target.sentinel.masterName}" (Sentinels ${target.sentinel.sentinels.join(", ")})`;
  return redactUrl(target.url);
}

/**
 * The one way Vigil opens Redis connections, for every role, command and BullMQ queue: a `Redis`
 * for a standalone URL or a master behind Sentinels, a `Cluster` for `redis.cluster`. Safe for
 * BullMQ workers (no per-request retry cap). The URL is checked first; the command arguments of
 * failed commands (AUTH carries the password) are stripped from the errors this connection emits,
 * so no library prints them.
 */
export function createRedis(url: string, options?: RedisOptions): Redis;
export function createRedis(target: RedisTarget, options?: RedisOptions): RedisClient;
export function createRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  let redis: RedisClient;
  if (typeof target === "string") {
    checkRedisUrl(target);
    redis = new Redis(target, { ...BASE_OPTIONS, ...options });
  } else if (target.cluster) {
    redis = new Cluster(
      target.cluster.nodes.map(parseNode),
      clusterOptions({ ...target, cluster: target.cluster }, options),
    );
    redis.prependListener("node error", stripCommandArguments);
  } else if (target.sentinel) {
    redis = new Redis({ ...BASE_OPTIONS, ...sentinelOptions({ ...target, sentinel: target.sentinel }), ...options });
  } else {
    checkRedisUrl(target.url);
    const tls = target.tls ? tlsOptions(target, true) : undefined;
    redis = new Redis(target.url, { ...BASE_OPTIONS, ...(tls ? { tls } : {}), ...options });
  }
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
const TLS_REFUSED =
  /certificate|self[- ]signed|CERT_|ERR_SSL|SSL routines|ERR_TLS|tlsv1 alert|wrong version number|Hostname\/IP does not match/i;
const SLOT_COUNT = 16_384;

/** A problem that may pass (nothing answers yet, a cluster still forming): retried until the deadline. */
class Transient extends Error {
  constructor(
    readonly problem: RedisProblem,
    readonly reason: string,
    /** The final message when the deadline passes, instead of the probe's {@link Probe.gaveUp}. */
    readonly gaveUp?: (waited: string) => string,
  ) {
    super(reason);
  }
}

/**
 * One connection to one node with no retries of its own, open and answering PING; classifies
 * what goes wrong: refused credentials and refused TLS are final, anything else passes.
 */
async function probeNode(
  options: RedisOptions,
  remainingMs: number,
  refused: { auth: (reason: string) => string; tls: (reason: string) => string },
  url?: string,
): Promise<Redis> {
  const settings: RedisOptions = {
    ...options,
    lazyConnect: true,
    retryStrategy: () => null,
    connectTimeout: Math.min(remainingMs, 5_000),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  };
  const probe = url === undefined ? new Redis(settings) : new Redis(url, settings);
  probe.prependListener("error", stripCommandArguments);
  let emitted: unknown;
  probe.on("error", (err: unknown) => (emitted ??= err)); // the cause; connect() itself rejects with "Connection is closed"
  try {
    await probe.connect();
    await probe.ping();
    return probe;
  } catch (err) {
    probe.disconnect();
    const cause = emitted ?? err;
    stripCommandArguments(cause);
    const reason = redactSecrets(errorMessage(cause));
    if (WRONG_CREDENTIALS.test(reason)) throw new RedisConnectError("auth", refused.auth(reason));
    const code = (cause as { code?: unknown }).code;
    if (TLS_REFUSED.test(reason) || (typeof code === "string" && TLS_REFUSED.test(code)))
      throw new RedisConnectError("tls", refused.tls(reason));
    throw new Transient("unreachable", reason);
  }
}

/** What each attempt of {@link connectRedis} checks, for one kind of target. */
interface Probe {
  /** Resolves when the target is usable; a {@link Transient} is retried, anything else is final. */
  attempt(remainingMs: number): Promise<void>;
  /** The final message when the deadline passes on a transient `problem`. */
  gaveUp(problem: RedisProblem, reason: string, waited: string): string;
}

function standaloneProbe(url: string, tls: TlsOptions | undefined): Probe {
  const shownUrl = redactUrl(url);
  return {
    async attempt(remainingMs) {
      const probe = await probeNode(
        tls ? { tls } : {},
        remainingMs,
        {
          auth: (reason) => `Redis at ${shownUrl} refused the credentials in redis.url (${reason})`,
          tls: (reason) => `Redis at ${shownUrl} refused the TLS connection (${reason}); check redis.tls`,
        },
        url,
      );
      probe.disconnect();
    },
    gaveUp: (_problem, reason, waited) =>
      `Redis at ${shownUrl} did not answer within ${waited} (${reason}); start Redis or point redis.url at one`,
  };
}

function clusterProbe(config: RedisConfig & { cluster: NonNullable<RedisConfig["cluster"]> }): Probe {
  const options: RedisOptions = { ...credentials(config.cluster) };
  const tls = tlsOptions(config, config.tls !== undefined);
  if (tls) options.tls = tls;
  const seeds = config.cluster.nodes;
  return {
    async attempt(remainingMs) {
      // The first seed node that answers tells the cluster's state; one that does not is skipped.
      let lastReason = "";
      for (const node of seeds) {
        let probe: Redis;
        try {
          probe = await probeNode({ ...options, ...parseNode(node) }, remainingMs, {
            auth: (reason) => `Redis Cluster node ${node} refused the credentials in redis.cluster (${reason})`,
            tls: (reason) => `Redis Cluster node ${node} refused the TLS connection (${reason}); check redis.tls`,
          });
        } catch (err) {
          if (!(err instanceof Transient)) throw err;
          lastReason = `${node}: ${err.reason}`;
          continue;
        }
        try {
          const info = parseInfo(await probe.cluster("INFO").catch((err: unknown) => errorMessage(err)));
          if (info.cluster_state === undefined)
            throw new RedisConnectError(
              "cluster",
              `${node} in redis.cluster.nodes is not a Redis Cluster node (cluster support is disabled there); point redis.url at a standalone Redis instead`,
            );
          if (info.cluster_state !== "ok")
            throw new Transient(
              "cluster",
              `Redis Cluster at ${node} is not serving every slot (cluster_state:${info.cluster_state}, ${info.cluster_slots_ok ?? "?"} of ${SLOT_COUNT} slots ok, ${info.cluster_slots_fail ?? 0} failing)`,
            );
          await checkAnnounced(probe, node, options, remainingMs);
          return;
        } finally {
          probe.disconnect();
        }
      }
      throw new Transient("unreachable", lastReason);
    },
    gaveUp: (problem, reason, waited) =>
      problem === "cluster"
        ? `${reason} for ${waited}; assign the missing slots or bring their primaries back (redis-cli --cluster check/fix)`
        : `no Redis Cluster seed node in redis.cluster.nodes (${seeds.join(", ")}) answered within ${waited} (${reason}); start the cluster or correct the nodes`,
  };
}

/**
 * Vigil talks to each master at the address the cluster announces (CLUSTER SLOTS), not the seed's:
 * behind NAT, or with `cluster-announce-ip` wrong, those differ. Each announced master must answer.
 */
async function checkAnnounced(
  seed: Redis,
  seedNode: string,
  options: RedisOptions,
  remainingMs: number,
): Promise<void> {
  const masters = new Set(
    (await seed.cluster("SLOTS")).flatMap(([, , master]) =>
      master ? [`${master[0].includes(":") ? `[${master[0]}]` : master[0]}:${master[1]}`] : [],
    ),
  );
  for (const master of masters) {
    const refused = (reason: string) =>
      `Redis Cluster node ${master} (announced by ${seedNode} in CLUSTER SLOTS) refused the connection (${reason})`;
    try {
      (
        await probeNode({ ...options, ...parseNode(master) }, remainingMs, { auth: refused, tls: refused })
      ).disconnect();
    } catch (err) {
      if (!(err instanceof Transient)) throw err;
      throw new Transient(
        "cluster",
        err.reason,
        (waited) =>
          `Redis Cluster node ${master}, as ${seedNode} announces it in CLUSTER SLOTS, did not answer within ${waited} (${err.reason}); the addresses nodes announce (cluster-announce-ip) must be reachable from Vigil`,
      );
    }
  }
}

function sentinelProbe(config: RedisConfig & { sentinel: NonNullable<RedisConfig["sentinel"]> }): Probe {
  const { sentinel } = config;
  const sentinelAuth: RedisOptions = {
    ...(sentinel.sentinelUsername !== undefined ? { username: sentinel.sentinelUsername } : {}),
    ...(sentinel.sentinelPassword !== undefined ? { password: sentinel.sentinelPassword } : {}),
  };
  const sentinelTls = sentinel.sentinelTls ? tlsOptions(config, true) : undefined;
  if (sentinelTls) sentinelAuth.tls = sentinelTls;
  const masterTls = tlsOptions(config, config.tls !== undefined);
  return {
    async attempt(remainingMs) {
      let lastReason = "";
      for (const node of sentinel.sentinels) {
        let probe: Redis;
        try {
          probe = await probeNode({ ...sentinelAuth, ...parseNode(node) }, remainingMs, {
            auth: (reason) => `Sentinel ${node} refused the credentials in redis.sentinel.sentinelPassword (${reason})`,
            tls: (reason) => `Sentinel ${node} refused the TLS connection (${reason}); check redis.tls and sentinelTls`,
          });
        } catch (err) {
          if (!(err instanceof Transient)) throw err;
          lastReason = `${node}: ${err.reason}`;
          continue;
        }
        let address: unknown;
        try {
          address = await probe.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentinel.masterName);
        } catch (err) {
          lastReason = `${node}: ${redactSecrets(errorMessage(err))}`;
          continue;
        } finally {
          probe.disconnect();
        }
        if (!Array.isArray(address) || address.length < 2)
          throw new Transient(
            "sentinel",
            `Sentinel ${node} names no master "${sentinel.masterName}" (redis.sentinel.masterName)`,
          );
        const where = `${address[0]}:${address[1]}`;
        const master = await probeNode(
          {
            ...credentials(sentinel),
            ...(masterTls ? { tls: masterTls } : {}),
            host: String(address[0]),
            port: Number(address[1]),
          },
          remainingMs,
          {
            auth: (reason) =>
              `Redis master "${sentinel.masterName}" at ${where} (named by Sentinel ${node}) refused the credentials in redis.sentinel (${reason})`,
            tls: (reason) =>
              `Redis master "${sentinel.masterName}" at ${where} (named by Sentinel ${node}) refused the TLS connection (${reason}); check redis.tls`,
          },
        );
        master.disconnect();
        return;
      }
      throw new Transient("unreachable", lastReason);
    },
    gaveUp: (problem, reason, waited) =>
      problem === "sentinel"
        ? `${reason} within ${waited}; check the name against SENTINEL MASTERS on the Sentinels`
        : `no Sentinel in redis.sentinel.sentinels (${sentinel.sentinels.join(", ")}) answered within ${waited} (${reason}); start them or correct the list`,
  };
}

/**
 * Waits until the target is usable, retrying with backoff for at most `timeoutMs`, and returns a
 * connection made with {@link createRedis}: a standalone Redis answers PING; a cluster's seed
 * node answers and reports `cluster_state:ok` (every slot served); a Sentinel names the master
 * and the master answers. Fails with a {@link RedisConnectError} naming the problem and where.
 */
export async function connectRedis(url: string, options?: number | ConnectRedisOptions): Promise<Redis>;
export async function connectRedis(target: RedisTarget, options?: number | ConnectRedisOptions): Promise<RedisClient>;
export async function connectRedis(
  target: RedisTarget,
  options: number | ConnectRedisOptions = {},
): Promise<RedisClient> {
  const { timeoutMs = 10_000, logger, signal } = typeof options === "number" ? { timeoutMs: options } : options;
  let probe: Probe;
  if (typeof target === "string") {
    checkRedisUrl(target);
    probe = standaloneProbe(target, undefined);
  } else if (target.cluster) probe = clusterProbe({ ...target, cluster: target.cluster });
  else if (target.sentinel) probe = sentinelProbe({ ...target, sentinel: target.sentinel });
  else {
    checkRedisUrl(target.url);
    probe = standaloneProbe(target.url, target.tls ? tlsOptions(target, true) : undefined);
  }
  const shown = describeRedis(target);
  const deadline = Date.now() + timeoutMs;
  let delayMs = 250;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      await probe.attempt(Math.max(50, deadline - Date.now()));
      return await ready(createRedis(target), Math.max(1_000, deadline - Date.now()), shown);
    } catch (err) {
      if (!(err instanceof Transient)) throw err;
      const waitMs = Math.min(delayMs, deadline - Date.now());
      if (waitMs <= 0)
        throw new RedisConnectError(
          err.problem,
          (err.gaveUp ?? ((waited) => probe.gaveUp(err.problem, err.reason, waited)))(formatSeconds(timeoutMs)),
        );
      logger?.warn({ redis: shown, attempt, retryInMs: waitMs, err: err.reason }, "waiting for Redis");
      await sleep(waitMs, undefined, signal ? { signal } : {});
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}

/** Resolves with `redis` once it is ready (a cluster has its slot map); a {@link Transient} otherwise. */
async function ready(redis: RedisClient, timeoutMs: number, shown: string): Promise<RedisClient> {
  if (redis instanceof Redis) return redis; // commands queue until it is ready, as before
  if (redis.status === "ready") return redis;
  let lastError = "";
  const onError = (err: unknown) => (lastError = redactSecrets(errorMessage(err)));
  redis.on("error", onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const reason = lastError || "no slot map";
        reject(
          new Transient(
            "cluster",
            reason,
            (waited) =>
              `${shown}: the seed nodes answer, but the cluster could not be used within ${waited} (${reason}); the nodes' announced addresses (CLUSTER SLOTS, cluster-announce-ip) must be reachable from Vigil`,
          ),
        );
      }, timeoutMs);
      redis.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return redis;
  } catch (err) {
    redis.disconnect();
    throw err;
  } finally {
    redis.off("error", onError);
  }
}

/** `INFO`-style text (`key:value` lines) as an object. */
export function parseInfo(text: unknown): Record<string, string> {
  const info: Record<string, string> = {};
  for (const line of String(text).split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) info[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return info;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Logs a running connection's trouble as JSON lines, without flooding: the first error of an
 * outage, then the same error at most every `repeatMs` with how often it recurred, and one line
 * when the connection is back.
 */
export function watchRedis(redis: RedisClient, logger: Logger, target: RedisTarget, repeatMs = 10_000): void {
  const shownUrl = describeRedis(target);
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
const CLUSTER_SLOTS = 16_384;

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
  /**
   * The keyspace of rule-state shard `k` of `count`: a hash tag of its own, `{prefix:s<k>}` (or
   * `{prefix:s<k>-<n>}`, the first whose slot lies in the k-th of `count` equal parts of the slot
   * space), so the shards' slots are evenly spaced and a cluster whose primaries hold equal slot
   * ranges gets an equal share of them. With one shard, the keyspace itself (the layout of a Vigil
   * that had no shards, so its state carries over).
   */
  shard(k: number, count: number): Keyspace {
    if (count === 1) return this;
    const from = Math.floor((k * CLUSTER_SLOTS) / count);
    const to = Math.floor(((k + 1) * CLUSTER_SLOTS) / count);
    for (let n = 0; ; n++) {
      const name = n === 0 ? `${this.prefix}:s${k}` : `${this.prefix}:s${k}-${n}`;
      const slot = clusterKeySlot(name);
      if (slot >= from && slot < to) return new Keyspace(name);
    }
  }
  /** Every rule-state shard of `count`, in shard order (see `shard`). */
  shards(count: number): Keyspace[] {
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`rule-state shards must be a whole number >= 1, not ${count}`);
    return Array.from({ length: count }, (_, k) => this.shard(k, count));
  }
}

/**
 * Calls `onKeys` with each batch of keys matching `pattern` (a SCAN MATCH glob): on a cluster, on
 * every master in turn (SCAN sees one node's keys only), otherwise on the one server.
 */
export async function scanKeys(
  redis: RedisClient,
  pattern: string,
  onKeys: (keys: string[]) => Promise<void>,
): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length) await onKeys(keys);
    } while (cursor !== "0");
  }
}

/** A SCAN MATCH glob matching `text` literally, then anything: `{vigil}:rs:x:*` for `{vigil}:rs:x:`. */
export function globPrefix(text: string): string {
  return `${text.replace(/[*?[\]\\]/g, "\\$&")}*`;
}

/** Deletes every key of a keyspace (tests and replay namespaces), on every master of a cluster. */
export async function deleteKeyspace(redis: RedisClient, keyspace: Keyspace): Promise<number> {
  let deleted = 0;
  // The keyspace's tag, then its rule-state shards' `{prefix:s<k>}` (Keyspace.shard). One UNLINK per
  // hash tag: each takes keys of one slot.
  for (const pattern of [globPrefix(`${keyspace.tag}:`), `${globPrefix(`{${keyspace.prefix}:s`).slice(0, -1)}[0-9]*`])
    await scanKeys(redis, pattern, async (keys) => {
      const byTag = new Map<string, string[]>();
      for (const key of keys) {
        const tag = key.slice(0, key.indexOf("}") + 1);
        const tagged = byTag.get(tag);
        if (tagged) tagged.push(key);
        else byTag.set(tag, [key]);
      }
      for (const tagged of byTag.values()) deleted += await redis.unlink(...tagged);
    });
  return deleted;
}
