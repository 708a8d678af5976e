import { randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CheckpointStore,
  eventBatchJobId,
  getSourcesStatus,
  QuarantineStore,
  startPollWorker,
  type Connector,
  type PollWorker,
  type PollWorkerOptions,
} from "@vigil/connectors";
import {
  ConnectorError,
  EventBatchJobSchema,
  WatermarkJobSchema,
  Keyspace,
  MAX_EVENT_BATCH_BYTES,
  createMetrics,
  createRedis,
  deleteKeyspace,
  openQueue,
  openQueues,
  serializeError,
  silentLogger,
  type AuditEvent,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import { VigilConfigSchema as ConfigSchema, type VigilConfigInput as ConfigInput } from "@vigil/cli";

const SOURCE = "audit-file";
/** Events of a minute ago: within the file source's lookback, so a line appended later is on time. */
const BASE = Math.floor((Date.now() - 60_000) / 1000) * 1000;

function auditEvent(n: number, source = SOURCE): AuditEvent {
  return {
    id: `${source}:${n}`,
    source,
    provider: "test",
    nativeId: String(n),
    time: new Date(BASE + n * 1000).toISOString(),
    action: "user.delete",
    category: "delete",
    outcome: "success",
    actor: { id: "admin-1", email: "admin@example.com" },
    target: { id: `user-${n}`, type: "user" },
    attributes: {},
    raw: { n },
  };
}
const line = (n: number, source = SOURCE) => `${JSON.stringify(auditEvent(n, source))}\n`;
const lines = (ns: number[], source = SOURCE) => ns.map((n) => line(n, source)).join("");
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("poll worker (file source, real Redis)", () => {
  let redis: ReturnType<typeof createRedis>;
  let keyspace: Keyspace;
  let queues: VigilQueues;
  let metrics: Metrics;
  let dir: string;
  let path: string;
  const workers: PollWorker[] = [];

  beforeEach(() => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
    queues = openQueues(redis, keyspace.queuePrefix);
    metrics = createMetrics();
    dir = mkdtempSync(join(tmpdir(), "vigil-poll-worker-"));
    path = join(dir, "events.jsonl");
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
    await queues.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  const configWith = (sources: ConfigInput["sources"]) =>
    ConfigSchema.parse({ redis: { prefix: keyspace.prefix }, sources });
  const fileConfig = (batchSize = 2) => configWith([{ name: SOURCE, type: "file", path, batchSize }]);

  async function start(overrides: Partial<PollWorkerOptions> = {}): Promise<PollWorker> {
    const worker = await startPollWorker({
      config: fileConfig(),
      connection: redis,
      keyspace,
      queues,
      logger: silentLogger,
      metrics,
      schedule: false,
      ...overrides,
    });
    workers.push(worker);
    return worker;
  }

  /** Every queued `vigil-events` job, oldest first, validated as the engine will. */
  async function queuedJobs() {
    const jobs = (await queues.events.getJobs(["wait"], 0, -1, true)).filter((job) => job.name !== "watermark");
    return jobs.map((job) => ({ id: job.id, data: EventBatchJobSchema.parse(job.data) }));
  }
  async function queuedIds(): Promise<string[]> {
    return (await queuedJobs()).flatMap((job) => job.data.events.map((event) => event.id));
  }

  it("queues exactly the file's events, in file order, in jobs of at most batchSize", async () => {
    writeFileSync(path, lines(range(1, 5)));
    const worker = await start();
    const result = await worker.pullOnce(SOURCE);
    expect(result).toEqual({ source: SOURCE, events: 5, duplicates: 0, quarantined: 0, pages: 3, skipped: false });

    const jobs = await queuedJobs();
    expect(jobs.map((job) => job.data.events.length)).toEqual([2, 2, 1]);
    expect(jobs.every((job) => job.data.source === SOURCE)).toBe(true);
    expect(jobs.flatMap((job) => job.data.events)).toEqual(range(1, 5).map((n) => auditEvent(n)));
    expect(jobs[0]?.id).toBe(eventBatchJobId(SOURCE, [auditEvent(1), auditEvent(2)]));
  });

  it("splits a page of large events into jobs of at most MAX_EVENT_BATCH_BYTES, in order", async () => {
    // 12 events of ~900 KB (15 strings just under EVENT_LIMITS.stringChars): ~10.8 MB, one page of batchSize 200.
    const big = (n: number) => ({
      ...auditEvent(n),
      attributes: Object.fromEntries(range(1, 15).map((k) => [`a${k}`, String(n % 10).repeat(60_000)])),
    });
    writeFileSync(
      path,
      range(1, 12)
        .map((n) => `${JSON.stringify(big(n))}\n`)
        .join(""),
    );
    const worker = await start({ config: fileConfig(200) });
    expect(await worker.pullOnce(SOURCE)).toMatchObject({ events: 12, quarantined: 0 });

    const jobs = await queuedJobs();
    const sizes = jobs.map((job) => Buffer.byteLength(JSON.stringify(job.data.events)));
    expect(jobs.map((job) => job.data.events.length)).toEqual([9, 3]);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_EVENT_BATCH_BYTES);
    expect(jobs.flatMap((job) => job.data.events.map((event) => event.id))).toEqual(
      range(1, 12).map((n) => `${SOURCE}:${n}`),
    );
  });

  it("a second pull after appending lines queues only the new ones", async () => {
    writeFileSync(path, lines(range(1, 3)));
    const worker = await start();
    await worker.pullOnce(SOURCE);
    appendFileSync(path, lines(range(4, 6)));
    const second = await worker.pullOnce(SOURCE);
    expect(second.events).toBe(3);
    expect(await queuedIds()).toEqual(range(1, 6).map((n) => `${SOURCE}:${n}`));

    const third = await worker.pullOnce(SOURCE);
    // Nothing new: one page, the file's end, which only moves the source's watermark.
    expect(third).toMatchObject({ events: 0, pages: 1, skipped: false });
    expect(await queuedIds()).toHaveLength(6);
  });

  it("quarantines a malformed line with its position, reason and text, and queues the lines after it", async () => {
    const good = lines(range(1, 3));
    const badLine = JSON.stringify({ ...auditEvent(4), outcome: "maybe" });
    writeFileSync(path, `${good}${badLine}\n${lines([5, 6])}`);
    const worker = await start();

    const result = await worker.pullOnce(SOURCE);
    expect(result).toMatchObject({ events: 5, quarantined: 1, skipped: false });
    expect(result.error).toBeUndefined();
    expect(await queuedIds()).toEqual([1, 2, 3, 5, 6].map((n) => `${SOURCE}:${n}`));
    const store = new CheckpointStore(redis, keyspace);
    expect(await store.get(SOURCE)).toEqual({
      offset: Buffer.byteLength(`${good}${badLine}\n${lines([5, 6])}`),
      line: 6,
    });

    const quarantine = new QuarantineStore(redis, keyspace);
    const held = await quarantine.list(SOURCE);
    expect(held).toEqual([
      expect.objectContaining({
        source: SOURCE,
        position: `${path}:4`,
        reason: expect.stringContaining("outcome"),
        field: "outcome",
        raw: badLine,
        format: "event-line",
        truncated: false,
      }),
    ]);
    const counted = await metrics.recordsQuarantined.get();
    expect(counted.values.find((v) => v.labels.source === SOURCE)?.value).toBe(1);
    const gauge = await metrics.quarantineHeld.get();
    expect(gauge.values.find((v) => v.labels.source === SOURCE)?.value).toBe(1);

    // Read again from the start (a reset checkpoint): the same line is held once.
    await store.reset(SOURCE);
    expect(await worker.pullOnce(SOURCE)).toMatchObject({ events: 0, duplicates: 5, quarantined: 0 });
    expect(await quarantine.list(SOURCE)).toHaveLength(1);
  });

  it("two concurrent pulls of one source queue each event once", async () => {
    writeFileSync(path, lines(range(1, 40)));
    const first = await start();
    const second = await start();
    const results = await Promise.all([first.pullOnce(SOURCE), second.pullOnce(SOURCE), first.pullOnce(SOURCE)]);
    expect(results.reduce((sum, result) => sum + result.events, 0)).toBe(40);
    expect(results.filter((result) => result.skipped).length).toBeGreaterThanOrEqual(1);
    expect(await queuedIds()).toEqual(range(1, 40).map((n) => `${SOURCE}:${n}`));
  });

  it("a pull that finds the lock taken returns at once with skipped: true", async () => {
    writeFileSync(path, lines([1]));
    await redis.set(keyspace.key("source", SOURCE, "lock"), "another-replica", "PX", 30_000);
    const worker = await start();
    expect(await worker.pullOnce(SOURCE)).toEqual({
      source: SOURCE,
      events: 0,
      duplicates: 0,
      quarantined: 0,
      pages: 0,
      skipped: true,
    });
    expect(await queuedIds()).toEqual([]);
    expect(await redis.get(keyspace.key("source", SOURCE, "lock"))).toBe("another-replica");
  });

  it("re-reading queued events (checkpoint lost) drops them as duplicates", async () => {
    writeFileSync(path, lines(range(1, 4)));
    const worker = await start();
    await worker.pullOnce(SOURCE);
    await new CheckpointStore(redis, keyspace).reset(SOURCE);
    const reread = await worker.pullOnce(SOURCE);
    expect(reread).toMatchObject({ events: 0, duplicates: 4, pages: 3 });
    expect(await queuedIds()).toHaveLength(4);
  });

  it("re-queuing a page after a crash before its ids and checkpoint were stored does not duplicate jobs", async () => {
    writeFileSync(path, lines(range(1, 4)));
    const worker = await start();
    await worker.pullOnce(SOURCE);
    // As if the process died right after addBulk: neither the recent ids nor the checkpoint were written.
    await redis.del(keyspace.key("source", SOURCE, "recent-ids"), keyspace.key("source", SOURCE, "checkpoint"));
    const again = await worker.pullOnce(SOURCE);
    expect(again.events).toBe(4);
    expect(await queuedIds()).toEqual(range(1, 4).map((n) => `${SOURCE}:${n}`));
  });

  it("carries each event's lag in the source's order, and a watermark job per page that waits for its batches", async () => {
    writeFileSync(path, lines([5, 3, 6]));
    const worker = await start();
    await worker.pullOnce(SOURCE);
    const [batch] = await queuedJobs();
    // 3 came 2 s behind 5, the newest the source had delivered before it.
    expect(batch?.data.lags).toEqual({ [`${SOURCE}:3`]: 2_000 });
    // One watermark job per page with new events, seq 1, 2…, each the parent of its page's batches.
    const marks = async () =>
      (await queues.events.getJobs(["waiting-children"]))
        .map((job) => ({ id: job.id, data: WatermarkJobSchema.parse(job.data) }))
        .sort((a, b) => a.data.mark.seq - b.data.mark.seq);
    const first = await marks();
    expect(first.map((m) => m.id)).toEqual(first.map((_, i) => `${SOURCE}-watermark-${i + 1}`));
    expect(first.at(-1)?.data.mark.delivered).toBe(Date.parse(auditEvent(6).time));
    for (const mark of first) {
      const job = await queues.events.getJob(mark.id!);
      expect(Object.keys((await job!.getDependencies()).unprocessed ?? {}).length).toBeGreaterThan(0);
    }

    // The newest time delivered is kept: the next pull measures lags against 6, under the next seqs.
    appendFileSync(path, lines([4, 7]));
    await worker.pullOnce(SOURCE);
    const second = (await queuedJobs()).find((job) => job.data.events.some((e) => e.id === `${SOURCE}:4`));
    expect(second?.data.lags).toEqual({ [`${SOURCE}:4`]: 2_000 });
    const all = await marks();
    expect(all.map((m) => m.data.mark.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.length).toBeGreaterThan(first.length);
    expect(all.at(-1)?.data.mark.delivered).toBe(Date.parse(auditEvent(7).time));
  });

  it("records health, metrics and status", async () => {
    writeFileSync(path, lines([3, 1, 2]));
    const worker = await start();
    await worker.pullOnce(SOURCE);

    const [status] = await getSourcesStatus(redis, keyspace, fileConfig());
    expect(status).toMatchObject({
      name: SOURCE,
      type: "file",
      enabled: true,
      checkpoint: { offset: Buffer.byteLength(lines([3, 1, 2])), line: 3 },
      health: { eventsPulled: 3, lastRunEvents: 3, newestEventTime: auditEvent(3).time },
    });
    expect(Date.parse(status?.health.lastSuccessAt ?? "")).not.toBeNaN();
    expect(status?.health.lastError).toBeUndefined();

    appendFileSync(path, lines([4]));
    await worker.pullOnce(SOURCE);
    const [after] = await getSourcesStatus(redis, keyspace, fileConfig());
    expect(after?.health).toMatchObject({ eventsPulled: 4, lastRunEvents: 1, newestEventTime: auditEvent(4).time });

    const pulled = await metrics.sourceEventsPulled.get();
    expect(pulled.values.find((v) => v.labels.source === SOURCE)?.value).toBe(4);
    const lag = await metrics.sourceLag.get();
    expect(lag.values.find((v) => v.labels.source === SOURCE)?.value).toBeGreaterThan(0);
    const lastSuccess = await metrics.sourceLastSuccess.get();
    expect(lastSuccess.values.find((v) => v.labels.source === SOURCE)?.value).toBeGreaterThan(0);
  });

  it("an error in one source does not stop the others", async () => {
    writeFileSync(path, lines([1, 2]));
    const config = configWith([
      { name: "missing-file", type: "file", path: join(dir, "missing.jsonl") },
      { name: SOURCE, type: "file", path },
    ]);
    const worker = await start({ config });
    const missing = await worker.pullOnce("missing-file");
    expect(missing.error).toContain("ENOENT");
    expect(await worker.pullOnce(SOURCE)).toMatchObject({ events: 2 });

    const status = await getSourcesStatus(redis, keyspace, config);
    expect(status.find((s) => s.name === "missing-file")?.health.lastError).toContain("ENOENT");
    expect(status.find((s) => s.name === SOURCE)?.health.eventsPulled).toBe(2);
    const errors = await metrics.sourceErrors.get();
    expect(errors.values.find((v) => v.labels.source === "missing-file")?.value).toBe(1);
  });

  it("keeps the pages queued before a connector fails mid-pull", async () => {
    const failing: Connector = {
      source: SOURCE,
      provider: "test",
      async *pull() {
        yield { events: [auditEvent(1), auditEvent(2)], checkpoint: { cursor: "after-2" } };
        throw new ConnectorError(SOURCE, "GET /audit-logs failed after 3 attempts: HTTP 503", { status: 503 });
      },
      async check() {},
    };
    const worker = await start({ connectors: new Map([[SOURCE, failing]]) });
    const result = await worker.pullOnce(SOURCE);
    expect(result).toMatchObject({
      events: 2,
      pages: 1,
      error: `source ${SOURCE}: GET /audit-logs failed after 3 attempts: HTTP 503`,
    });
    expect(await new CheckpointStore(redis, keyspace).get(SOURCE)).toEqual({ cursor: "after-2" });
    expect(await queuedIds()).toEqual([`${SOURCE}:1`, `${SOURCE}:2`]);
    const [health] = (await new CheckpointStore(redis, keyspace).getHealth([SOURCE])).values();
    expect(health).toMatchObject({ eventsPulled: 2, lastError: result.error });
  });

  it("does not advance the checkpoint when queuing the events fails", async () => {
    writeFileSync(path, lines([1, 2, 3]));
    const downQueues = {
      events: {
        addWithChildren: async () => Promise.reject(new Error("READONLY You can't write against a read only replica.")),
      },
    };
    const worker = await start({ queues: downQueues as unknown as PollWorkerOptions["queues"] });
    const result = await worker.pullOnce(SOURCE);
    expect(result).toMatchObject({ events: 0, pages: 0 });
    expect(result.error).toContain("READONLY");
    expect(await new CheckpointStore(redis, keyspace).get(SOURCE)).toBeUndefined();
    expect(await redis.exists(keyspace.key("source", SOURCE, "recent-ids"))).toBe(0);

    const recovered = await start();
    expect(await recovered.pullOnce(SOURCE)).toMatchObject({ events: 3 });
    expect(await queuedIds()).toEqual([1, 2, 3].map((n) => `${SOURCE}:${n}`));
  });

  it("stops without moving the checkpoint once another replica has taken its lock", async () => {
    const lockKey = keyspace.key("source", SOURCE, "lock");
    const stealing: Connector = {
      source: SOURCE,
      provider: "test",
      async *pull() {
        yield { events: [auditEvent(1)], checkpoint: { page: 1 } };
        await redis.set(lockKey, "another-replica", "PX", 30_000);
        yield { events: [auditEvent(2)], checkpoint: { page: 2 } };
      },
      async check() {},
    };
    const worker = await start({ connectors: new Map([[SOURCE, stealing]]) });
    const result = await worker.pullOnce(SOURCE);
    expect(result.error).toContain("lost the pull lock");
    expect(await new CheckpointStore(redis, keyspace).get(SOURCE)).toEqual({ page: 1 });
    // The other replica's lock is left alone.
    expect(await redis.get(lockKey)).toBe("another-replica");
  });

  it("logs one info line per run with source, events, pages, duration and lag", async () => {
    writeFileSync(path, lines([1, 2, 3]));
    const records: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const record = (level: string) => (fields: Record<string, unknown>, message: string) =>
      void records.push({ level, fields, message });
    const logger = {
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
      child: () => logger,
    };
    const worker = await start({ logger: logger as unknown as PollWorkerOptions["logger"] });
    await worker.pullOnce(SOURCE);
    const infos = records.filter((r) => r.level === "info");
    expect(infos).toHaveLength(1);
    expect(infos[0]?.fields).toMatchObject({ source: SOURCE, events: 3, pages: 2 });
    expect(typeof infos[0]?.fields.durationMs).toBe("number");
    expect(infos[0]?.fields.lagSeconds).toBeGreaterThan(0);

    rmSync(path);
    await worker.pullOnce(SOURCE);
    const errors = records.filter((r) => r.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.fields).toMatchObject({ source: SOURCE });
    expect(serializeError(errors[0]?.fields.err).message).toContain("ENOENT");
  });

  it("close() stops a running pull, waits for it and releases its lock without recording an error", async () => {
    let started!: () => void;
    const pullStarted = new Promise<void>((resolve) => (started = resolve));
    const endless: Connector = {
      source: SOURCE,
      provider: "test",
      async *pull(_from, { signal }) {
        yield { events: [auditEvent(1)], checkpoint: { page: 1 } };
        started();
        await new Promise((_resolve, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        );
      },
      async check() {},
    };
    const worker = await startPollWorker({
      config: fileConfig(),
      connection: redis,
      keyspace,
      queues,
      logger: silentLogger,
      metrics,
      schedule: false,
      connectors: new Map([[SOURCE, endless]]),
    });
    const pulling = worker.pullOnce(SOURCE);
    await pullStarted;
    await worker.close();
    const result = await pulling;
    expect(result).toMatchObject({ events: 1, pages: 1, error: "pull stopped: the poll worker is closing" });
    expect(await redis.exists(keyspace.key("source", SOURCE, "lock"))).toBe(0);
    expect(await new CheckpointStore(redis, keyspace).get(SOURCE)).toEqual({ page: 1 });
    const [health] = (await new CheckpointStore(redis, keyspace).getHealth([SOURCE])).values();
    expect(health?.lastError).toBeUndefined();
  });

  it("rejects pullOnce for a source that is not configured", async () => {
    const worker = await start();
    await expect(worker.pullOnce("nope")).rejects.toThrow('unknown source "nope"');
  });

  it("schedules enabled sources on vigil-polls, removes stale schedules, and pulls on schedule", async () => {
    writeFileSync(path, lines([1, 2, 3]));
    const pollQueue = openQueue("polls", redis, keyspace.queuePrefix);
    await pollQueue.upsertJobScheduler(
      "removed-source",
      { every: 60_000 },
      { name: "poll", data: { source: "removed-source" } },
    );
    await pollQueue.close();

    const config = configWith([
      { name: SOURCE, type: "file", path, pollInterval: "1h" },
      { name: "broken", type: "file", path: join(dir, "missing.jsonl"), pollInterval: "1h" },
      { name: "paused", type: "file", path, enabled: false },
    ]);
    await start({ config, schedule: true });

    const schedulers = await (async () => {
      const queue = openQueue("polls", redis, keyspace.queuePrefix);
      try {
        return await queue.getJobSchedulers(0, -1);
      } finally {
        await queue.close();
      }
    })();
    expect(schedulers.map((s) => s.key).sort()).toEqual(["audit-file", "broken"]);
    expect(schedulers.find((s) => s.key === SOURCE)?.every).toBe(3_600_000);

    // A scheduler with `every` fires its first poll right away; wait for its effect.
    await waitFor(async () => (await queuedIds()).length === 3);
    expect(await queuedIds()).toEqual([1, 2, 3].map((n) => `${SOURCE}:${n}`));
    await waitFor(
      async () =>
        (await getSourcesStatus(redis, keyspace, config)).find((s) => s.name === "broken")?.health.lastError !==
        undefined,
    );
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
