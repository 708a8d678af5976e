import { Redis, type RedisOptions } from "ioredis";

/** The one way Vigil opens Redis connections. Safe for BullMQ workers (no per-request retry cap). */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...options });
}

/** Opens a connection and waits until it answers PING, failing fast with a clear message. */
export async function connectRedis(url: string, timeoutMs = 3_000): Promise<Redis> {
  const redis = createRedis(url, { lazyConnect: true, retryStrategy: () => null, connectTimeout: timeoutMs });
  redis.on("error", () => undefined); // reported by the rejected connect() below
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis at ${redactUrl(url)} does not answer: ${(err as Error).message}`, { cause: err });
  }
  redis.disconnect();
  return createRedis(url);
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
