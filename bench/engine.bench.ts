import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Queue, Worker, type Job } from "bullmq";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Redis } from "ioredis";
import {
  createRedis,
  DEFAULT_EVENT_BATCH_SIZE,
  deleteKeyspace,
  EVENT_JOB_OPTIONS,
  EventBatchJobSchema,
  Keyspace,
  openQueues,
  QUEUE_NAMES,
  type AuditEvent,
  type EventBatchJob,
  type VigilQueues,
  MAX_ALERT_EVENT_IDS,
} from "@vigil/core";
import {
  Engine,
  IpGeo,
  openIpGeo,
  loadRules,
  parseRules,
  processEventBatch,
  referenceCondition,
  RedisRuleStateStore,
  type LoadedRule,
  type RuleStateStore,
} from "@vigil/engine";
import { generateEvents, generateRules } from "./workload.js";

function loadBenchRules(
  total: number,
  condition: "compiled" | "json-logic-js" = "compiled",
  stateful = false,
): LoadedRule[] {
  return generateRules(total, { stateful }).flatMap((rule) => {
    const { rules, problems } = parseRules(JSON.stringify(rule), `bench/${rule.id}.json`);
    if (problems.length) throw new Error(problems.map((p) => p.message).join("\n"));
    return condition === "compiled" ? rules : rules.map((r) => ({ ...r, condition: referenceCondition(r.rule.when) }));
  });
}

const SHIPPED_RULES = join(import.meta.dirname, "../rules");

/** Batches per watermark mark when a run queues them as connectors do (a page's worth). */
const MARK_EVERY = 25;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Rules evaluated in process only: conditions and grouping, no Redis, no queue. */
function measureEvaluationOnly(engine: Engine, batches: AuditEvent[][]): number {
  for (const batch of batches.slice(0, 50)) engine.evaluate(batch); // warm-up
  globalThis.gc?.(); // what earlier measurements (and an IpGeo's database buffers) left is not this one's
  const start = performance.now();
  let events = 0;
  for (const batch of batches) {
    engine.evaluate(batch);
    events += batch.length;
  }
  return events / ((performance.now() - start) / 1000);
}

/** What one configuration did with the same batches. */
export interface QueueRun {
  name: string;
  rate: number;
  alerts: number;
  roundTripsPerBatch: number;
  /** Share of one core Redis's main thread spent during the run (1 = always busy). */
  redisBusy?: number;
  /** Share of a core the worker process spent during the run (above 1: its helper threads too). */
  workerBusy?: number;
  /** Every round's rate, lowest first, when the configuration ran more than once. */
  rates?: number[];
  /** Every round's rate, in round order (rounds interleave the configurations). */
  roundRates?: number[];
  /** Bytes of window state per event held in a window (Vigil's store only). */
  bytesPerTrackedEvent?: number;
}

type Processor = (job: Pick<Job<EventBatchJob>, "id" | "data">) => Promise<number>;

interface RunContext {
  keyspace: Keyspace;
  queues: VigilQueues;
  store: Redis;
}

/** Counts the commands a connection sends: each is a round trip (a Lua call is one). */
function countCommands(redis: Redis): () => number {
  let commands = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<typeof send>) => {
    commands++;
    return send(...args);
  }) as typeof redis.sendCommand;
  return () => commands;
}

/** CPU seconds Redis's main thread has used (INFO cpu), to tell who is the bottleneck of a run. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return field("used_cpu_user_main_thread") + field("used_cpu_sys_main_thread");
}

/** Waits until Redis has freed what UNLINK left to its background thread, which would otherwise share the cores with the next run. */
async function lazyFreeDone(redis: Redis): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const pending = Number(/lazyfree_pending_objects:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
    if (pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bytes of Vigil's window keys per event they hold. */
async function windowBytesPerTrackedEvent(redis: Redis, keyspace: Keyspace): Promise<number> {
  let cursor = "0";
  let bytes = 0;
  let tracked = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${keyspace.tag}:rs:*`, "COUNT", 1000);
    cursor = next;
    if (!keys.length) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
      if (key.endsWith(":z")) pipeline.zcard(key);
    }
    const results = (await pipeline.exec()) ?? [];
    let i = 0;
    for (const key of keys) {
      bytes += Number(results[i++]?.[1] ?? 0);
      if (key.endsWith(":z")) tracked += Number(results[i++]?.[1] ?? 0);
    }
  } while (cursor !== "0");
  return tracked ? bytes / tracked : 0;
}

/**
 * Queues the batches on `vigil-events`, plainly or (with marks) as connectors do: every
 * `MARK_EVERY` batches the children of one watermark job (a BullMQ flow) carrying the source's mark.
 */
async function enqueue(
  queues: VigilQueues,
  makeBatches: () => AuditEvent[][],
  marks: boolean,
): Promise<{ batchCount: number; events: number; jobs: number }> {
  const batches = makeBatches();
  const events = batches.reduce((sum, b) => sum + b.length, 0);
  if (!marks) {
    for (const group of chunk(batches, 100)) {
      await queues.events.addBulk(
        group.map((batch) => ({ name: "bench", data: { source: "bench", events: batch }, opts: EVENT_JOB_OPTIONS })),
      );
    }
    return { batchCount: batches.length, events, jobs: batches.length };
  }
  let seq = 0;
  let delivered = Number.NEGATIVE_INFINITY;
  for (const group of chunk(batches, MARK_EVERY)) {
    seq += 1;
    for (const batch of group) for (const event of batch) delivered = Math.max(delivered, Date.parse(event.time));
    await queues.events.addWithChildren(
      { name: "watermark", data: { source: "bench", mark: { seq, delivered } }, opts: { jobId: `mark-${seq}` } },
      group.map((batch, i) => ({
        name: "bench",
        data: { source: "bench", events: batch },
        opts: { jobId: `batch-${seq}-${i}` },
      })),
    );
  }
  return { batchCount: batches.length, events, jobs: batches.length + seq };
}

/** Enqueues every batch on a fresh `vigil-events`, then times one worker draining it. */
async function runThroughQueue(
  name: string,
  makeBatches: () => AuditEvent[][],
  options: {
    redisUrl: string;
    concurrency: number;
    measureWindows?: boolean;
    profileDir?: string;
    /**
     * Queue the batches as connectors do: every `MARK_EVERY` batches the children of one watermark
     * job (a BullMQ flow) that carries the source's mark, so absence rules are decided as they go.
     */
    marks?: boolean;
  },
  makeProcessor: (context: RunContext) => Processor,
): Promise<QueueRun> {
  const keyspace = new Keyspace(`bench-${randomBytes(4).toString("hex")}`);
  const queueRedis = createRedis(options.redisUrl);
  const store = createRedis(options.redisUrl);
  const queues = openQueues(queueRedis, keyspace.queuePrefix);
  try {
    // The batches are made and queued in a function of their own, whose frame (and every array
    // of events in it) is gone when it returns, then a full GC: the worker's heap holds what an
    // engine process would, not the bench's 200,000 events (with them, every scavenge of the
    // worker took 20-35 ms).
    const { batchCount, events, jobs } = await enqueue(queues, makeBatches, options.marks ?? false);
    (globalThis as { gc?: () => void }).gc?.();
    const commands = countCommands(store);
    const processor = makeProcessor({ keyspace, queues, store });
    let done = 0;
    let alerts = 0;
    const profiler = options.profileDir ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
    }
    const redisCpuBefore = await redisCpuSeconds(queueRedis);
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const worker = new Worker<EventBatchJob, number>(
        QUEUE_NAMES.events,
        async (job) => {
          const raised = await processor(job);
          alerts += raised;
          return raised;
        },
        { connection: queueRedis, prefix: keyspace.queuePrefix, concurrency: options.concurrency, autorun: true },
      );
      worker.on("completed", () => {
        if (++done === jobs) void worker.close().then(resolve);
      });
      worker.on("failed", (_job, err) => reject(err));
    });
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const redisBusy = ((await redisCpuSeconds(queueRedis)) - redisCpuBefore) / seconds;
    const workerBusy = (cpu.user + cpu.system) / 1e6 / seconds;
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(join(options.profileDir!, `${name}.cpuprofile`), JSON.stringify(profile));
      profiler.disconnect();
    }
    return {
      name,
      rate: events / seconds,
      alerts,
      roundTripsPerBatch: commands() / batchCount,
      redisBusy,
      workerBusy,
      bytesPerTrackedEvent: options.measureWindows ? await windowBytesPerTrackedEvent(store, keyspace) : undefined,
    };
  } finally {
    await queues.close();
    await deleteKeyspace(store, keyspace);
    await lazyFreeDone(store);
    await store.quit();
    await queueRedis.quit();
  }
}

/** Vigil's worker: validate, evaluate, one Lua call, enqueue alerts. */
const vigil =
  (rules: LoadedRule[], ruleIndex: boolean, geo?: IpGeo) =>
  ({ keyspace, queues, store }: RunContext): Processor => {
    const engine = new Engine(
      rules,
      new RedisRuleStateStore(store, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
      { ruleIndex, ...(geo ? { geo } : {}) },
    );
    return async (job) => (await processEventBatch(job, { engine, queues })).alerts;
  };

/** The ceiling: what BullMQ, job parsing and validation allow with no rule evaluated. */
const ceiling = () => (): Processor => async (job) => {
  const parsed = EventBatchJobSchema.safeParse(job.data);
  if (!parsed.success) throw new Error("invalid batch");
  return 0;
};

/**
 * What a user would assemble from npm: json-logic-js per rule per event; for each windowed
 * match a rate-limiter-flexible consume (points = count, duration = within, wall-clock windows,
 * no deduplication, no distinct), and a SET NX for suppression when the limit is hit.
 */
const naive =
  (rules: LoadedRule[]) =>
  ({ keyspace, store }: RunContext): Processor => {
    // Its own plain queue for its own alert shape (rule and event), as such an assembly would have.
    const alertQueue = new Queue("naive-alerts", { connection: store, prefix: keyspace.queuePrefix });
    const limiters = new Map(
      rules
        .filter((r) => r.rule.threshold)
        .map((r) => [
          r.rule.id,
          new RateLimiterRedis({
            storeClient: store,
            keyPrefix: keyspace.key("rl", r.rule.id),
            points: r.rule.threshold!.count - 1,
            duration: Math.ceil(r.rule.threshold!.within / 1000),
          }),
        ]),
    );
    const conditions = new Map(rules.map((r) => [r.rule.id, referenceCondition(r.rule.when)]));
    const read = (event: unknown, path: string) =>
      path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], event);
    return async (job) => {
      const parsed = EventBatchJobSchema.safeParse(job.data);
      if (!parsed.success) throw new Error("invalid batch");
      const alerts: { ruleId: string; eventId: string }[] = [];
      for (const event of parsed.data.events) {
        for (const { rule } of rules) {
          if (!conditions.get(rule.id)!.test(event)) continue; // json-logic-js apply + truthy
          if (!rule.threshold) {
            alerts.push({ ruleId: rule.id, eventId: event.id });
            continue;
          }
          const group = rule.threshold.groupBy.map((path) => String(read(event, path))).join("|");
          try {
            await limiters.get(rule.id)!.consume(group);
          } catch (err) {
            if (!(err instanceof RateLimiterRes)) throw err;
            const suppress = rule.suppress ?? rule.threshold.within;
            const set = await store.set(keyspace.key("sup", rule.id, group), "1", "PX", suppress, "NX");
            if (set === "OK") alerts.push({ ruleId: rule.id, eventId: event.id });
          }
        }
      }
      if (alerts.length) await alertQueue.addBulk(alerts.map((a) => ({ name: a.ruleId, data: a })));
      return alerts.length;
    };
  };

export interface EngineBenchResult {
  events: number;
  /** Rules over the batches in process (events/s); with IP enrichment, per round beside the rate without it. */
  evaluationOnly: {
    vigil50: number;
    jsonLogic50: number;
    geoRounds: { without: number; with: number }[];
    /** The shipped pack (its travel and new-country rules read geo) enriching, and on events located beforehand. */
    packGeoRounds: { without: number; with: number }[];
  };
  runs: {
    ceiling: QueueRun;
    vigil50: QueueRun;
    vigil50Geo: QueueRun;
    vigil200: QueueRun;
    /** 50 rules of which 3 sequence, 3 newValue and 2 absence rules in place of match rules, queued with marks. */
    vigil50Stateful: QueueRun;
    /** The rules shipped in rules/ (every kind, absence rules decided on marks), queued with marks. */
    vigilPack: QueueRun;
    /** The same with IP enrichment on (its travel and new-country rules read geo). */
    vigilPackGeo: QueueRun;
    jsonLogic50: QueueRun;
    naive50: QueueRun;
  };
}

/** Every configuration on the same batches, one after the other in one process. */
export async function runEngineBench(options: {
  events: number;
  redisUrl: string;
  concurrency: number;
  /** Run one configuration alone (its name, e.g. vigil-50). */
  only?: string;
  /** Write a CPU profile of each queue run (not the setup) into this folder. */
  profileDir?: string;
  /** How many times each configuration runs, interleaved (default 1); each reports its median. */
  rounds?: number;
}): Promise<EngineBenchResult> {
  const rules50 = loadBenchRules(50);
  const rules200 = loadBenchRules(200);
  const rules50Stateful = loadBenchRules(50, "compiled", true);
  const reference50 = loadBenchRules(50, "json-logic-js");
  const shippedPack = loadRules([SHIPPED_RULES]);
  const makeBatches = () => chunk(generateEvents(options.events), DEFAULT_EVENT_BATCH_SIZE);
  const unused: RuleStateStore = {
    apply: () => Promise.reject(new Error("not used")),
    advance: () => Promise.reject(new Error("not used")),
    sources: () => Promise.reject(new Error("not used")),
    capSource: () => Promise.reject(new Error("not used")),
  };
  // IP enrichment's databases load once per process, before any run (as in a worker).
  const geo = openIpGeo();
  const evaluateOnly = () => {
    const batches = makeBatches();
    const geoRounds = Array.from({ length: options.rounds ?? 1 }, () => ({
      // A fresh IpGeo cache each round: every address is looked up in the database once per round.
      // (Vigil-50's rules read no geo: lazy enrichment looks nothing up for them.)
      with: measureEvaluationOnly(new Engine(rules50, unused, { geo: new IpGeo() }), batches),
      without: measureEvaluationOnly(new Engine(rules50, unused), batches),
    }));
    // The pack's travel and new-country rules do their work only on located events: "without" gets
    // the same events located beforehand, so both do the same rule work and the gap is enrichment's.
    const located = batches.map((batch) => batch.map((event) => geo.enrich(event)));
    const packGeoRounds = Array.from({ length: options.rounds ?? 1 }, () => ({
      with: measureEvaluationOnly(new Engine(shippedPack, unused, { geo: new IpGeo() }), batches),
      without: measureEvaluationOnly(new Engine(shippedPack, unused), located),
    }));
    return {
      vigil50: measureEvaluationOnly(new Engine(rules50, unused), batches),
      jsonLogic50: measureEvaluationOnly(new Engine(reference50, unused, { ruleIndex: false }), batches),
      geoRounds,
      packGeoRounds,
    };
  };
  const evaluationOnly =
    options.only && !options.only.split(",").includes("evaluation")
      ? { vigil50: Number.NaN, jsonLogic50: Number.NaN, geoRounds: [], packGeoRounds: [] }
      : evaluateOnly();
  const run = { redisUrl: options.redisUrl, concurrency: options.concurrency, profileDir: options.profileDir };
  const only = options.only;
  const skipped: QueueRun = { name: "skipped", rate: Number.NaN, alerts: 0, roundTripsPerBatch: Number.NaN };
  const configurations: [keyof EngineBenchResult["runs"], string, () => Promise<QueueRun>][] = [
    ["ceiling", "ceiling", () => runThroughQueue("ceiling", makeBatches, run, ceiling())],
    [
      "vigil50",
      "vigil-50",
      () => runThroughQueue("vigil-50", makeBatches, { ...run, measureWindows: true }, vigil(rules50, true)),
    ],
    ["vigil50Geo", "vigil-50-geo", () => runThroughQueue("vigil-50-geo", makeBatches, run, vigil(rules50, true, geo))],
    ["vigil200", "vigil-200", () => runThroughQueue("vigil-200", makeBatches, run, vigil(rules200, true))],
    [
      "vigil50Stateful",
      "vigil-50-stateful",
      () => runThroughQueue("vigil-50-stateful", makeBatches, { ...run, marks: true }, vigil(rules50Stateful, true)),
    ],
    [
      "vigilPack",
      "vigil-pack",
      () => runThroughQueue("vigil-pack", makeBatches, { ...run, marks: true }, vigil(shippedPack, true)),
    ],
    [
      "vigilPackGeo",
      "vigil-pack-geo",
      () => runThroughQueue("vigil-pack-geo", makeBatches, { ...run, marks: true }, vigil(shippedPack, true, geo)),
    ],
    [
      "jsonLogic50",
      "json-logic-js-50",
      () => runThroughQueue("json-logic-js-50", makeBatches, run, vigil(reference50, false)),
    ],
    ["naive50", "naive-50", () => runThroughQueue("naive-50", makeBatches, run, naive(rules50))],
  ];
  // Rounds interleave the configurations, so a slow spell of a shared machine falls on all of them;
  // each configuration then reports its median round.
  const rounds: Record<string, QueueRun[]> = {};
  for (let round = 0; round < (options.rounds ?? 1); round++) {
    for (const [key, name, go] of configurations) {
      if (only && !only.split(",").includes(name)) continue;
      const done = await go();
      rounds[key] = [...(rounds[key] ?? []), done];
    }
  }
  const median = (key: string): QueueRun => {
    const runs = [...(rounds[key] ?? [])].sort((a, b) => a.rate - b.rate);
    const middle = runs[Math.floor(runs.length / 2)];
    return middle
      ? { ...middle, rates: runs.map((r) => r.rate), roundRates: (rounds[key] ?? []).map((r) => r.rate) }
      : skipped;
  };
  const runs = Object.fromEntries(configurations.map(([key]) => [key, median(key)])) as EngineBenchResult["runs"];
  return {
    events: options.events,
    evaluationOnly,
    runs,
  };
}
