import { randomUUID } from "node:crypto";
import { ConnectorError, createRedis, deleteKeyspace, Keyspace, openQueue, type CatalogQueue } from "@vigil/core";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "../kit/connector.js";
import { windowCheckpointAt } from "../kit/windowed-pull.js";
import { CheckpointStore } from "./checkpoint-store.js";
import { resetSourceCheckpoint, type WatermarkReset } from "./source-maintenance.js";

const LOOKBACK_MS = 10 * 60_000;
const connector = (withTime: boolean): Connector => ({
  source: "zd",
  provider: "zendesk",
  async *pull() {},
  async check() {},
  ...(withTime ? { checkpointAt: (time: Date) => windowCheckpointAt(time, LOOKBACK_MS) } : {}),
});

describe("resetSourceCheckpoint against Redis", () => {
  let redis: Redis;
  let keyspace: Keyspace;
  let store: CheckpointStore;
  let events: CatalogQueue<"events">;
  /** Caps the reset asked for, with the checkpoint as it was when each was asked. */
  const caps: { seq: number; atMs: number; checkpointThen: unknown }[] = [];
  let watermark: WatermarkReset;
  beforeAll(() => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
    store = new CheckpointStore(redis, keyspace);
    events = openQueue("events", redis, keyspace.queuePrefix);
    watermark = {
      queues: { events },
      capWatermark: async (seq, atMs) => void caps.push({ seq, atMs, checkpointThen: await store.get("zd") }),
    };
  });
  afterAll(async () => {
    await events.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  it("moves the source's watermark back before its checkpoint: capped at once, then a reset mark in its seq order", async () => {
    caps.length = 0;
    await store.set("zd", { until: "2026-03-09T00:00:00.000Z" });
    const to = new Date("2026-03-02T00:00:00Z");
    await resetSourceCheckpoint(redis, keyspace, connector(true), to, watermark);
    expect(caps).toEqual([{ seq: 1, atMs: to.getTime(), checkpointThen: { until: "2026-03-09T00:00:00.000Z" } }]);
    const mark = await events.getJob("zd-watermark-1");
    expect(mark?.data).toEqual({ source: "zd", mark: { seq: 1, reset: to.getTime() } });
    // The next reset (from the beginning) takes the next seq, back to the earliest time.
    await resetSourceCheckpoint(redis, keyspace, connector(true), undefined, watermark);
    expect(caps[1]).toMatchObject({ seq: 2, atMs: -8_640_000_000_000_000 });
    expect((await events.getJob("zd-watermark-2"))?.data).toEqual({
      source: "zd",
      mark: { seq: 2, reset: -8_640_000_000_000_000 },
    });
  });

  it("places a windowed source so its next pull reads from the time on (its lookback added back)", async () => {
    await store.set("zd", { until: "2026-03-09T00:00:00.000Z" });
    const to = new Date("2026-03-01T12:00:00Z");
    expect(await resetSourceCheckpoint(redis, keyspace, connector(true), to, watermark)).toEqual({
      until: "2026-03-01T12:10:00.000Z",
    });
    expect(await store.get("zd")).toEqual({ until: "2026-03-01T12:10:00.000Z" });
    expect(await redis.exists(keyspace.key("source", "zd", "lock"))).toBe(0);
  });

  it("forgets the checkpoint without a time, and names the command when a source cannot be placed at one", async () => {
    await store.set("zd", { until: "2026-03-09T00:00:00.000Z" });
    await expect(resetSourceCheckpoint(redis, keyspace, connector(false), new Date(), watermark)).rejects.toThrow(
      "`vigil sources reset zd` reads it from its start",
    );
    expect(await store.get("zd")).toEqual({ until: "2026-03-09T00:00:00.000Z" });
    expect(await resetSourceCheckpoint(redis, keyspace, connector(false), undefined, watermark)).toBeUndefined();
    expect(await store.get("zd")).toBeUndefined();
  });

  it("leaves a source alone while a pull holds its lock", async () => {
    await store.set("zd", { until: "2026-03-09T00:00:00.000Z" });
    await redis.set(keyspace.key("source", "zd", "lock"), "pulling", "PX", 30_000);
    const reset = resetSourceCheckpoint(redis, keyspace, connector(true), undefined, watermark);
    await expect(reset).rejects.toBeInstanceOf(ConnectorError);
    await expect(reset).rejects.toThrow("a pull of this source is running");
    expect(await store.get("zd")).toEqual({ until: "2026-03-09T00:00:00.000Z" });
    expect(await redis.get(keyspace.key("source", "zd", "lock"))).toBe("pulling");
  });
});
