import type { Job, Worker } from "bullmq";
import type { RedisClient } from "@vigil/core";
import {
  QUEUE_NAMES,
  openWorker,
  parseQueuePayload,
  type EventBatchJob,
  type EventsJob,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import type { Engine } from "./engine.js";
import type { RuleStateSweeper } from "./rule-state/rule-state-sweep.js";

export interface EventsWorkerOptions {
  /** The engine, or where to get the current one when the rule set can be reloaded while running. */
  engine: Engine | (() => Engine);
  connection: RedisClient;
  queuePrefix: string;
  queues: Pick<VigilQueues, "alerts">;
  logger: Logger;
  metrics?: Metrics;
  concurrency?: number;
  /** Raise a "source blind" alert for a source whose watermark has not moved for this long while absence rules wait for it (default 1h). */
  sourceBlindAfterMs?: number;
  /** Marks the rule set's state live and sweeps what rules and sources gone for its grace period leave (see RuleStateSweeper). */
  sweeper?: RuleStateSweeper;
}

export interface EventsWorkerResult {
  events: number;
  alerts: number;
  duplicates: number;
  late: number;
  /** A watermark job: the source's last mark applied after it. */
  watermark?: { source: string; seq: number };
}

/** Validates a `vigil-events` job (as the worker does) and processes it: a batch, or a source's watermark. */
export async function processEventBatch(
  job: Pick<Job<EventsJob>, "id" | "data">,
  options: Pick<EventsWorkerOptions, "engine" | "queues" | "metrics">,
): Promise<EventsWorkerResult> {
  return processEventsJob(parseQueuePayload("events", job.data), String(job.id), options);
}

function processEventsJob(
  payload: EventsJob,
  jobId: string,
  options: Pick<EventsWorkerOptions, "engine" | "queues" | "metrics">,
): Promise<EventsWorkerResult> {
  if ("mark" in payload) return applyWatermark(payload.source, payload.mark, jobId, options);
  return evaluateBatch(payload, jobId, options);
}

/** A watermark job runs once every batch of its pull step is processed (it is their flow parent). */
async function applyWatermark(
  source: string,
  mark: Extract<EventsJob, { mark: unknown }>["mark"],
  jobId: string,
  options: Pick<EventsWorkerOptions, "engine" | "queues">,
): Promise<EventsWorkerResult> {
  const engine = typeof options.engine === "function" ? options.engine() : options.engine;
  const { progress, alerts } = await engine.advance(source, mark, jobId);
  if (alerts.length)
    await options.queues.alerts.addBulk(
      alerts.map((alert) => ({ name: alert.ruleId, data: alert, opts: { jobId: alert.id } })),
    );
  return { events: 0, alerts: alerts.length, duplicates: 0, late: 0, watermark: { source, seq: progress.seq } };
}

/** Evaluates a validated batch and enqueues its alerts (job id = alert id, so never twice). */
async function evaluateBatch(
  batch: EventBatchJob,
  jobId: string,
  options: Pick<EventsWorkerOptions, "engine" | "queues" | "metrics">,
): Promise<EventsWorkerResult> {
  const timer = options.metrics?.batchDuration.startTimer();
  // Taken once per batch: a rule set reloaded meanwhile applies from the next batch on.
  const engine = typeof options.engine === "function" ? options.engine() : options.engine;
  const outcome = await engine.processBatch(batch.events, jobId, {
    sources: [batch.source],
    ...(batch.lags ? { lags: batch.lags } : {}),
  });
  if (outcome.alerts.length) {
    await options.queues.alerts.addBulk(
      outcome.alerts.map((alert) => ({ name: alert.ruleId, data: alert, opts: { jobId: alert.id } })),
    );
  }
  timer?.();
  const events = batch.events.length;
  options.metrics?.eventsProcessed.inc({ result: "new" }, events - outcome.duplicates);
  if (outcome.duplicates) options.metrics?.eventsProcessed.inc({ result: "duplicate" }, outcome.duplicates);
  return { events, alerts: outcome.alerts.length, duplicates: outcome.duplicates, late: outcome.late.length };
}

/** Queues a "source blind" alert per stalled source (alert id = job id, so each stall alerts once). */
export async function checkBlindSources(
  options: Pick<EventsWorkerOptions, "engine" | "queues" | "logger">,
  afterMs: number,
  nowMs = Date.now(),
): Promise<number> {
  const engine = typeof options.engine === "function" ? options.engine() : options.engine;
  const alerts = await engine.blindSources(nowMs, afterMs);
  if (alerts.length) {
    for (const alert of alerts) options.logger.warn({ alertId: alert.id, groupKey: alert.groupKey }, alert.title);
    await options.queues.alerts.addBulk(
      alerts.map((alert) => ({ name: alert.ruleId, data: alert, opts: { jobId: alert.id } })),
    );
  }
  return alerts.length;
}

/** The engine role: a worker on `vigil-events`. A bad job fails alone; the worker keeps going. */
export function startEventsWorker(options: EventsWorkerOptions): Worker<EventsJob, EventsWorkerResult> {
  const logger = options.logger.child({ component: "engine", queue: QUEUE_NAMES.events });
  const worker = openWorker("events", (payload, job) => processEventsJob(payload, String(job.id), options), {
    connection: options.connection,
    queuePrefix: options.queuePrefix,
    concurrency: options.concurrency ?? 8,
    logger: options.logger.child({ component: "engine" }),
  });
  worker.on("completed", (job, result) => {
    if (result.watermark) logger.debug({ jobId: job.id, ...result.watermark }, "source watermark applied");
    else if (result.alerts || result.late)
      logger.info({ jobId: job.id, source: job.data.source, ...result }, "batch evaluated");
    else logger.debug({ jobId: job.id, source: job.data.source, ...result }, "batch evaluated");
  });
  worker.on("failed", (job, err) => {
    logger.error({ jobId: job?.id, attemptsMade: job?.attemptsMade, err }, "batch failed");
  });
  const blindAfterMs = options.sourceBlindAfterMs ?? 3_600_000;
  const blindCheck = setInterval(
    () => {
      checkBlindSources(options, blindAfterMs).catch((err: unknown) =>
        logger.warn({ err }, "could not check the sources' watermarks"),
      );
    },
    Math.max(1_000, Math.min(60_000, Math.floor(blindAfterMs / 4))),
  );
  blindCheck.unref();
  worker.on("closing", () => clearInterval(blindCheck));
  const { sweeper } = options;
  if (sweeper) {
    const tend = async () => {
      const engine = typeof options.engine === "function" ? options.engine() : options.engine;
      await sweeper.markLive(engine.stateKeys, engine.configuredSources);
      await sweeper.sweep(engine.configuredSources);
    };
    const tending = setInterval(() => {
      tend().catch((err: unknown) => logger.warn({ err }, "could not sweep the rule state of rules gone"));
    }, 60_000);
    tending.unref();
    void tend().catch((err: unknown) => logger.warn({ err }, "could not mark the rule state live"));
    worker.on("closing", () => clearInterval(tending));
  }
  return worker;
}
