import { randomUUID } from "node:crypto";
import { createRedis, deleteKeyspace, DELIVERED_RETENTION_S, Keyspace } from "@vigil/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryLedger } from "./delivery-ledger.js";

describe("DeliveryLedger against Redis", () => {
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

  it("knows nothing of a delivery until it is marked sent, then keeps it for the retention", async () => {
    const ledger = new DeliveryLedger(redis, keyspace);
    expect(await ledger.sent("a-1-mail")).toBeUndefined();
    await ledger.markSent("a-1-mail", 3, new Date("2026-03-01T08:00:00.000Z"));
    expect(await ledger.sent("a-1-mail")).toEqual({ sentAt: "2026-03-01T08:00:00.000Z", attempt: 3 });
    expect(await ledger.sent("a-1-hook")).toBeUndefined();
    expect(ledger.key("a-1-mail").startsWith(`${keyspace.tag}:`)).toBe(true);
    const ttl = await redis.ttl(ledger.key("a-1-mail"));
    expect(ttl).toBeGreaterThan(DELIVERED_RETENTION_S - 60);
    expect(ttl).toBeLessThanOrEqual(DELIVERED_RETENTION_S);
  });

  it("takes an unreadable entry as sent: its presence is what it was written for", async () => {
    const ledger = new DeliveryLedger(redis, keyspace, 60);
    await redis.set(ledger.key("a-2-mail"), "not json", "EX", 60);
    expect(await ledger.sent("a-2-mail")).toEqual({ sentAt: new Date(0).toISOString(), attempt: 1 });
    await ledger.markSent("a-3-mail", 1);
    expect(await redis.ttl(ledger.key("a-3-mail"))).toBeLessThanOrEqual(60);
  });
});
