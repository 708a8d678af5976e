import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Worker } from "bullmq";
import { createRedis, deleteKeyspace, EVENT_JOB_OPTIONS, Keyspace, openQueues, QUEUE_NAMES, type AuditEvent } from "@vigil/core";
import { Engine, parseRules, processEventBatch, RedisWindowStore, type LoadedRule, type WindowStore } from "@vigil/engine";
import { generateEvents, generateRules } from "./workload.js";

const BATCH_SIZE = 200;

function loadBenchRules(): LoadedRule[] {
  return generateRules().flatMap((rule) => {
    const { rules, problems } = parseRules(JSON.stringify(rule), `bench/${rule.id}.json`);
    if (problems.length) throw new Error(problems.map((p) => p.message).join("\n"));
    return rules;
  });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Rules evaluated in process only: JsonLogic, grouping, no Redis, no queue. */
function measureEvaluationOnly(rules: LoadedRule[], batches: AuditEvent[][]): number {
  const unused: WindowStore = { apply: () => Promise.reject(new Error("not used")) };
  const engine = new Engine(rules, unused);
  for (const batch of batches.slice(0, 50)) engine.evaluate(batch); // warm-up
  const start = performance.now();
  let events = 0;
  for (const batch of batches) {
    engine.evaluate(batch);
    events += batch.length;
  }
  return events / ((performance.now() - start) / 1000);
}

export interface EngineBenchResult {
  events: number;
  rules: number;
  thresholdRules: number;
  queueRate: number;
  evaluationRate: number;
  engineRoundTripsPerBatch: number;
  alerts: number;
}

/** Events per second through `vigil-events` with one worker process, beside the no-Redis rate. */
export async function runEngineBench(options: { events: number; redisUrl: string; concurrency: number }): Promise<EngineBenchResult> {
  const rules = loadBenchRules();
  const events = generateEvents(options.events);
  const batches = chunk(events, BATCH_SIZE);
  const evaluationRate = measureEvaluationOnly(rules, batches);

  const keyspace = new Keyspace(`bench-${randomBytes(4).toString("hex")}`);
  const queueRedis = createRedis(options.redisUrl);
  const storeRedis = createRedis(options.redisUrl);
  const queues = openQueues(queueRedis, keyspace.queuePrefix);
  try {
    for (const group of chunk(batches, 100)) {
      await queues.events.addBulk(group.map((batch) => ({ name: "bench", data: { source: "bench", events: batch }, opts: EVENT_JOB_OPTIONS })));
    }
    let storeCommands = 0;
    const send = storeRedis.sendCommand.bind(storeRedis);
    storeRedis.sendCommand = ((...args: Parameters<typeof send>) => {
      storeCommands++;
      return send(...args);
    }) as typeof storeRedis.sendCommand;
    const engine = new Engine(rules, new RedisWindowStore(storeRedis, keyspace, { seenTtlMs: 3_600_000, maxEventIds: 50 }));
    let done = 0;
    let alerts = 0;
    const start = performance.now();
    const finished = new Promise<void>((resolve, reject) => {
      const worker = new Worker(
        QUEUE_NAMES.events,
        async (job) => {
          const result = await processEventBatch(job, { engine, queues });
          alerts += result.alerts;
          return result;
        },
        { connection: queueRedis, prefix: keyspace.queuePrefix, concurrency: options.concurrency, autorun: true },
      );
      worker.on("completed", () => {
        if (++done === batches.length) void worker.close().then(resolve);
      });
      worker.on("failed", (_job, err) => reject(err));
    });
    await finished;
    const seconds = (performance.now() - start) / 1000;
    return {
      events: events.length,
      rules: rules.length,
      thresholdRules: rules.filter((r) => r.rule.threshold).length,
      queueRate: events.length / seconds,
      evaluationRate,
      engineRoundTripsPerBatch: storeCommands / batches.length,
      alerts,
    };
  } finally {
    await queues.close();
    await deleteKeyspace(storeRedis, keyspace);
    await storeRedis.quit();
    await queueRedis.quit();
  }
}
