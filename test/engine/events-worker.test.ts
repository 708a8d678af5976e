import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import {
  createMetrics,
  EVENT_JOB_OPTIONS,
  MAX_ALERT_EVENT_IDS,
  openQueues,
  QUEUE_NAMES,
  silentLogger,
  type AuditEvent,
} from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, startEventsWorker } from "@vigil/engine";
import { event, useRedis, waitUntil } from "../helpers.js";

const { redis, keyspace } = useRedis();
const ks = keyspace();
const queues = openQueues(redis, ks.queuePrefix);
const { rules } = parseRules(
  `id: w.burst\nname: Burst\nseverity: high\nwhen: { "==": [{ var: action }, destroy] }\nthreshold: { count: 2, within: 1m, groupBy: [actor.id] }\n---\nid: w.token\nname: Token\nseverity: low\nwhen: { "==": [{ var: action }, token] }\n`,
  "w.yaml",
);
const metrics = createMetrics();
const engine = new Engine(
  rules,
  new RedisRuleStateStore(redis, ks, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
  { metrics },
);
const worker = startEventsWorker({
  engine,
  connection: redis,
  queuePrefix: ks.queuePrefix,
  queues,
  logger: silentLogger,
  metrics,
  concurrency: 4,
});

afterAll(async () => {
  await worker.close();
  await queues.close();
});

const e = (id: string, second: number, action = "destroy"): AuditEvent =>
  event({ id, time: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(), action, actor: { id: "a" } });

async function settle(jobId: string) {
  await waitUntil(
    async () => ["completed", "failed"].includes(await queues.events.getJobState(jobId)),
    10_000,
    `job ${jobId}`,
  );
}

describe("the events worker", () => {
  it("enqueues each alert once, with the alert id as job id, however often its events come", async () => {
    const batch = [e("1", 0), e("2", 10), e("t", 11, "token")];
    await queues.events.add("b", { source: "s", events: batch }, { ...EVENT_JOB_OPTIONS, jobId: "first" });
    await settle("first");
    // The same events again, in another job (a connector's overlapping re-read).
    await queues.events.add("b", { source: "s", events: batch }, { ...EVENT_JOB_OPTIONS, jobId: "again" });
    await settle("again");
    const alerts = await queues.alerts.getJobs(["waiting", "completed", "active"]);
    expect(alerts.map((job) => job.data.ruleId).sort()).toEqual(["w.burst", "w.token"]);
    for (const job of alerts) expect(job.id).toBe(job.data.id);
    const processed = await metrics.eventsProcessed.get();
    expect(processed.values.find((v) => v.labels.result === "duplicate")?.value).toBe(3);
  });

  it("runs a watermark job only after its batches, and applies marks in seq order", async () => {
    const mark = (seq: number, second: number) => ({
      name: "watermark",
      data: { source: "flow-src", mark: { seq, delivered: Date.UTC(2026, 0, 1, 0, 0, second) } },
      opts: { jobId: `flow-src-watermark-${seq}` },
    });
    const batch = (id: string, second: number) => ({
      name: "event-batch",
      data: { source: "flow-src", events: [e(`flow-${id}`, second, "token")] },
      opts: { jobId: `flow-batch-${id}` },
    });
    // The later step's flow first: its mark waits for the earlier one's.
    expect(await queues.events.addWithChildren(mark(2, 30), [batch("c", 30), batch("d", 29)])).toBe(2);
    expect(await queues.events.addWithChildren(mark(1, 20), [batch("a", 20), batch("b", 21)])).toBe(2);
    // A batch queued again (a re-read) is not added twice, nor taken from its flow.
    expect(await queues.events.addWithChildren(mark(3, 31), [batch("a", 20)])).toBe(0);
    for (const id of ["flow-src-watermark-1", "flow-src-watermark-2", "flow-src-watermark-3"]) await settle(id);
    for (const [parent, children] of [
      ["flow-src-watermark-1", ["a", "b"]],
      ["flow-src-watermark-2", ["c", "d"]],
    ] as const) {
      const done = (await queues.events.getJob(parent))!.processedOn!;
      for (const child of children)
        expect((await queues.events.getJob(`flow-batch-${child}`))!.finishedOn!).toBeLessThanOrEqual(done);
    }
    const store = new RedisRuleStateStore(redis, ks, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
    expect((await store.sources()).find((s) => s.source === "flow-src")).toMatchObject({
      seq: 3,
      delivered: Date.UTC(2026, 0, 1, 0, 0, 31),
    });
  });

  it("fails a malformed job alone, saying where, and keeps working", async () => {
    const badBatch = { source: "s", events: [{ id: "x", time: "not a time" }] };
    // The catalog refuses it on add, naming the queue and the field...
    await expect(queues.events.add("bad", badBatch as never)).rejects.toThrow(
      /^vigil-events: invalid payload: events\.0\./,
    );
    // ...and the worker refuses it from a producer that bypasses the catalog.
    const unchecked = new Queue(QUEUE_NAMES.events, { connection: redis, prefix: ks.queuePrefix });
    await unchecked.add("bad", badBatch, { ...EVENT_JOB_OPTIONS, jobId: "bad" });
    await unchecked.close();
    await settle("bad");
    const bad = await queues.events.getJob("bad");
    expect(await bad!.getState()).toBe("failed");
    expect(bad!.failedReason).toMatch(/^vigil-events job bad: invalid payload: events\.0\./);
    expect(bad!.attemptsMade).toBe(1);
    await queues.events.add(
      "b",
      { source: "s", events: [e(`ok-${randomUUID()}`, 40, "token")] },
      { ...EVENT_JOB_OPTIONS, jobId: "after-bad" },
    );
    await settle("after-bad");
    expect(await queues.events.getJobState("after-bad")).toBe("completed");
  });
});
