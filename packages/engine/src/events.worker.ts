import type { Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import {
  QUEUE_NAMES,
  openWorker,
  parseQueuePayload,
  type EventBatchJob,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import type { Engine } from "./engine.js";

export interface EventsWorkerOptions {
  /** The engine, or where to get the current one when the rule set can be reloaded while running. */
  engine: Engine | (() => Engine);
  connection: Redis;
  queuePrefix: string;
  queues: Pick<VigilQueues, "alerts">;
  logger: Logger;
  metrics?: Metrics;
  concurrency?: number;
}

export interface EventsWorkerResult {
  events: number;
  alerts: number;
  duplicates: number;
  late: number;
}

/** Validates a batch (as the worker does), evaluates it and enqueues its alerts. */
export async function processEventBatch(
  job: Pick<Job<EventBatchJob>, "id" | "data">,
  options: Pick<EventsWorkerOptions, "engine" | "queues" | "metrics">,
): Promise<EventsWorkerResult> {
  return evaluateBatch(parseQueuePayload("events", job.data), String(job.id), options);
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
  const outcome = await engine.processBatch(batch.events, jobId);
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

/** The engine role: a worker on `vigil-events`. A bad job fails alone; the worker keeps going. */
export function startEventsWorker(options: EventsWorkerOptions): Worker<EventBatchJob, EventsWorkerResult> {
  const logger = options.logger.child({ component: "engine", queue: QUEUE_NAMES.events });
  const worker = openWorker("events", (batch, job) => evaluateBatch(batch, String(job.id), options), {
    connection: options.connection,
    queuePrefix: options.queuePrefix,
    concurrency: options.concurrency ?? 8,
    logger: options.logger.child({ component: "engine" }),
  });
  worker.on("completed", (job, result) => {
    if (result.alerts || result.late)
      logger.info({ jobId: job.id, source: job.data.source, ...result }, "batch evaluated");
    else logger.debug({ jobId: job.id, source: job.data.source, ...result }, "batch evaluated");
  });
  worker.on("failed", (job, err) => {
    logger.error({ jobId: job?.id, attemptsMade: job?.attemptsMade, err }, "batch failed");
  });
  return worker;
}
