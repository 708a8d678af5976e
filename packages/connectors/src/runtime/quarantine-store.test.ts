import { randomUUID } from "node:crypto";
import { createRedis, deleteKeyspace, Keyspace, registerSecrets } from "@vigil/core";
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

  it("holds at most its cap per source, dropping the oldest", async () => {
    const store = new QuarantineStore(redis, keyspace, 3);
    for (let n = 1; n <= 5; n++) await store.add("capped", record(n), new Date(Date.UTC(2026, 2, 1, 0, n)));
    const held = await store.list("capped");
    expect(held.map((entry) => entry.position)).toEqual([3, 4, 5].map((n) => `/data/events.jsonl:${n}`));
    expect(await store.get(quarantineId("capped", record(1)))).toBeUndefined();
  });
});
