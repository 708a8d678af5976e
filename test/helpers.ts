import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll } from "vitest";
import {
  createRedis,
  deleteKeyspace,
  Keyspace,
  type AuditEvent,
  PartialAuditEventSchema,
  type PartialAuditEvent,
} from "@vigil/core";

export const REDIS_URL = process.env.VIGIL_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A Redis connection and a keyspace of its own for one test file, deleted afterwards. */
export function useRedis() {
  const redis = createRedis(REDIS_URL);
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
