import { randomUUID } from "node:crypto";
import {
  createLogger,
  createMetrics,
  createRedis,
  deleteKeyspace,
  Keyspace,
  registerSecrets,
  type Metrics,
} from "@vigil/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RefusedRecord } from "../kit/connector.js";
import { capUtf8, QUARANTINE_RAW_BYTES, QuarantineStore, quarantineId } from "./quarantine-store.js";

const record = (n: number, overrides: Partial<RefusedRecord> = {}): RefusedRecord => ({
  position: `/data/events.jsonl:${n}`,
  reason: "invalid JSON: Unexpected token",
  raw: `{"broken": ${n}`,
  format: "event-line",
  identity: `/data/events.jsonl:${n}`,
  ...overrides,
});

async function dropped(metrics: Metrics, source: string, reason: string): Promise<number> {
  const { values } = await metrics.quarantineDropped.get();
  return values.find((v) => v.labels.source === source && v.labels.reason === reason)?.value ?? 0;
}

/** A real pino logger writing into an array. */
function recordingLogger() {
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const logger = createLogger({
    level: "info",
    destination: { write: (text: string) => void lines.push(JSON.parse(text)) },
  });
  return { logger, lines };
}

describe("QuarantineStore against Redis", () => {
  let redis: Redis;
  let keyspace: Keyspace;
  beforeAll(() => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
  });
  afterAll(async () => {
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  it("keeps a record once per source and identity, lists it oldest first, shows and drops it", async () => {
    const store = new QuarantineStore(redis, keyspace);
    const first = await store.add("files", record(3), new Date("2026-03-01T00:00:00Z"));
    expect(first).toEqual({
      id: quarantineId("files", record(3)),
      source: "files",
      position: "/data/events.jsonl:3",
      reason: "invalid JSON: Unexpected token",
      format: "event-line",
      raw: '{"broken": 3',
      rawBytes: 12,
      truncated: false,
      quarantinedAt: "2026-03-01T00:00:00.000Z",
    });
    expect(await store.add("files", record(3))).toBeUndefined();
    await store.add("files", record(9), new Date("2026-03-02T00:00:00Z"));
    await store.add("other", record(3));
    expect((await store.list("files")).map((entry) => entry.position)).toEqual([
      "/data/events.jsonl:3",
      "/data/events.jsonl:9",
    ]);
    expect((await store.list()).map((entry) => entry.source)).toEqual(["files", "files", "other"]);
    expect(await store.count("files")).toBe(2);
    expect(await store.get(first?.id ?? "")).toEqual(first);

    expect(await store.drop(first?.id ?? "")).toBe(true);
    expect(await store.drop(first?.id ?? "")).toBe(false);
    expect(await store.get(first?.id ?? "")).toBeUndefined();
    expect(await store.count("files")).toBe(1);
  });

  it("cuts the kept text at 64 KiB on a character boundary and scrubs registered secrets", async () => {
    const store = new QuarantineStore(redis, keyspace);
    registerSecrets(["quarantine-secret-value-1"]);
    const huge = `{"a":"${"é".repeat(QUARANTINE_RAW_BYTES)}","token":"quarantine-secret-value-1"}`;
    const entry = await store.add("big", record(1, { raw: huge, reason: "has quarantine-secret-value-1" }));
    expect(entry?.truncated).toBe(true);
    expect(entry?.rawBytes).toBe(Buffer.byteLength(huge));
    expect(Buffer.byteLength(entry?.raw ?? "")).toBeLessThanOrEqual(QUARANTINE_RAW_BYTES);
    expect(entry?.raw.endsWith("é")).toBe(true);
    expect(entry?.reason).not.toContain("quarantine-secret-value-1");
    const small = await store.add("big", record(2, { raw: '{"token":"quarantine-secret-value-1"}' }));
    expect(small?.raw).not.toContain("quarantine-secret-value-1");
    expect(capUtf8("abc", 2)).toEqual({ text: "ab", bytes: 3, truncated: true });
  });

  it("holds at most its cap of records per source, dropping the oldest, and logs and counts the drops", async () => {
    const metrics = createMetrics();
    const log = recordingLogger();
    const store = new QuarantineStore(redis, keyspace, {
      limits: { recordsPerSource: 3 },
      metrics,
      logger: log.logger,
    });
    for (let n = 1; n <= 5; n++) await store.add("capped", record(n), new Date(Date.UTC(2026, 2, 1, 0, n)));
    const held = await store.list("capped");
    expect(held.map((entry) => entry.position)).toEqual([3, 4, 5].map((n) => `/data/events.jsonl:${n}`));
    expect(await store.get(quarantineId("capped", record(1)))).toBeUndefined();
    expect(await store.drops("capped")).toEqual({ full: 2, expired: 0 });
    expect(await dropped(metrics, "capped", "full")).toBe(2);
    // The logger writes an identical warning once per 10 s (the repeat is counted on the next one).
    expect(log.lines.filter((line) => line.msg.startsWith("quarantine of this source is full"))).toEqual([
      expect.objectContaining({ source: "capped", dropped: 1, limits: { records: 3, bytes: 64 * 2 ** 20 } }),
    ]);
  });

  it("holds at most its cap of bytes per source", async () => {
    const store = new QuarantineStore(redis, keyspace, { limits: { bytesPerSource: 100 * 1024 } });
    const raw = (n: number) => `{"n":${n},"pad":"${"x".repeat(30 * 1024)}"}`;
    for (let n = 1; n <= 6; n++) await store.add("bytes", record(n, { raw: raw(n) }));
    const held = await store.list("bytes");
    expect(held.map((entry) => entry.position)).toEqual([4, 5, 6].map((n) => `/data/events.jsonl:${n}`));
    const total = held.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0);
    expect(total).toBeLessThanOrEqual(100 * 1024);
    expect(await store.drops("bytes")).toEqual({ full: 3, expired: 0 });
    // Dropping by hand frees its bytes: a new record fits without pushing an old one out.
    expect(await store.drop(held[0]!.id)).toBe(true);
    await store.add("bytes", record(7, { raw: raw(7) }));
    expect((await store.list("bytes")).map((entry) => entry.position)).toEqual(
      [5, 6, 7].map((n) => `/data/events.jsonl:${n}`),
    );
    expect(await store.drops("bytes")).toEqual({ full: 3, expired: 0 });
  });

  it("forgets records after its TTL, counting them as expired", async () => {
    const metrics = createMetrics();
    const store = new QuarantineStore(redis, keyspace, { limits: { ttlMs: 300 }, metrics });
    await store.add("ttl", record(1));
    await store.add("ttl", record(2));
    expect(await store.count("ttl")).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await store.add("ttl", record(3));
    expect((await store.list("ttl")).map((entry) => entry.position)).toEqual(["/data/events.jsonl:3"]);
    expect(await store.get(quarantineId("ttl", record(1)))).toBeUndefined();
    expect(await store.drops("ttl")).toEqual({ full: 0, expired: 2 });
    expect(await dropped(metrics, "ttl", "expired")).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.count("ttl")).toBe(0);
    // The entry's own key expires with it, even if nothing trims the index.
    expect(await redis.pttl(keyspace.key("quarantine", "entry", quarantineId("ttl", record(3))))).toBe(-2);
  });
});
