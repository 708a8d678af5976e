import { randomUUID } from "node:crypto";
import { ConnectorError, Keyspace, createRedis, deleteKeyspace } from "@vigil/core";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CheckpointStore } from "./checkpoint-store.js";

describe("checkpoint store", () => {
  let redis: Redis;
  let keyspace: Keyspace;
  let store: CheckpointStore;

  beforeEach(() => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
    store = new CheckpointStore(redis, keyspace);
  });
  afterEach(async () => {
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  it("stores, reads and resets a checkpoint as JSON under the source's key", async () => {
    expect(await store.get("pylon-prod")).toBeUndefined();
    await store.set("pylon-prod", { cursor: "abc", since: "2026-01-01T00:00:00Z" });
    expect(await store.get("pylon-prod")).toEqual({ cursor: "abc", since: "2026-01-01T00:00:00Z" });
    expect(await redis.get(keyspace.key("source", "pylon-prod", "checkpoint"))).toBe(
      '{"cursor":"abc","since":"2026-01-01T00:00:00Z"}',
    );
    const progress = {
      state: "running",
      startedAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:10Z",
      recordsRead: 40,
      eventsQueued: 40,
    } as const;
    await store.setProgress("pylon-prod", progress);
    expect((await store.getProgress(["pylon-prod"])).get("pylon-prod")).toEqual(progress);
    await store.reset("pylon-prod");
    expect(await store.get("pylon-prod")).toBeUndefined();
    // A reset pull shows no progress of the pull before it.
    expect((await store.getProgress(["pylon-prod"])).has("pylon-prod")).toBe(false);
  });

  it("reports a corrupt checkpoint instead of starting over silently", async () => {
    await redis.set(store.checkpointKey("pylon-prod"), "{not json");
    await expect(store.get("pylon-prod")).rejects.toBeInstanceOf(ConnectorError);
    await redis.set(store.checkpointKey("pylon-prod"), "[1,2]");
    await expect(store.get("pylon-prod")).rejects.toThrow("not a JSON object");
  });

  it("accumulates events and keeps the newest event time even when an older one comes later", async () => {
    await store.recordSuccess("zendesk", {
      at: new Date("2026-01-02T00:00:00Z"),
      events: 5,
      newestEventTime: "2026-01-01T12:00:00+02:00",
    });
    await store.recordSuccess("zendesk", {
      at: new Date("2026-01-02T00:01:00Z"),
      events: 2,
      newestEventTime: "2026-01-01T09:00:00Z",
    });
    await store.recordError("zendesk", {
      at: new Date("2026-01-02T00:02:00Z"),
      events: 0,
      message: "source zendesk: HTTP 503",
    });
    const health = (await store.getHealth(["zendesk", "never-pulled"])).get("zendesk");
    expect(health).toEqual({
      lastSuccessAt: "2026-01-02T00:01:00.000Z",
      lastErrorAt: "2026-01-02T00:02:00.000Z",
      lastError: "source zendesk: HTTP 503",
      newestEventTime: "2026-01-01T10:00:00.000Z",
      eventsPulled: 7,
      lastRunEvents: 0,
    });
    expect((await store.getHealth(["never-pulled"])).get("never-pulled")).toEqual({ eventsPulled: 0 });
  });
});
