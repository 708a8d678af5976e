import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll } from "vitest";
import {
  createRedis,
  deleteKeyspace,
  Keyspace,
  RedisConfigSchema,
  scanKeys,
  type AuditEvent,
  type RedisClient,
  type RedisConfig,
  PartialAuditEventSchema,
  type PartialAuditEvent,
} from "@vigil/core";

export const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * The Redis a test file talks to: the standalone one at {@link REDIS_URL}, or, in the `cluster` and
 * `sentinel` vitest projects (vitest.config.ts), the topology they start, given as the `redis`
 * config section (JSON) in `VIGIL_TEST_REDIS`.
 */
export const TEST_REDIS: RedisConfig = RedisConfigSchema.parse(
  process.env.VIGIL_TEST_REDIS ? JSON.parse(process.env.VIGIL_TEST_REDIS) : { url: REDIS_URL },
);

/** The `redis` section of a config file for {@link TEST_REDIS} under `prefix` (JSON is YAML). */
export function testRedisSection(prefix: string): string {
  return JSON.stringify({ ...TEST_REDIS, prefix });
}

/** A Redis connection and a keyspace of its own for one test file, deleted afterwards. */
export function useRedis() {
  const redis = createRedis(TEST_REDIS);
  const keyspaces: Keyspace[] = [];
  afterAll(async () => {
    for (const keyspace of keyspaces) await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });
  return {
    redis,
    /** A fresh keyspace (unique prefix), cleaned up after the file's tests. */
    keyspace(): Keyspace {
      const keyspace = new Keyspace(`test-${randomUUID()}`);
      keyspaces.push(keyspace);
      return keyspace;
    },
  };
}

/** Every key matching a SCAN MATCH glob, on every master of a cluster (KEYS would ask one node). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  await scanKeys(redis, pattern, async (batch) => {
    keys.push(...batch);
  });
  return keys;
}

/** A full AuditEvent from a few fields. */
export function event(fields: PartialAuditEvent): AuditEvent {
  return PartialAuditEventSchema.parse(fields);
}

export { seededRandom } from "@vigil/core";

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
