import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import {
  ALERT_JOB_OPTIONS,
  EventBatchJobSchema,
  QUEUE_NAMES,
  WORKER_RECOVERY_OPTIONS,
  type EventBatchJob,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import type { Engine } from "./engine.js";

export interface EventsWorkerOptions {
  engine: Engine;
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

/** Validates a batch, evaluates it and enqueues its alerts (job id = alert id, so never twice). */
export async function processEventBatch(
  job: Pick<Job<EventBatchJob>, "id" | "data">,
  options: Pick<EventsWorkerOptions, "engine" | "queues" | "metrics">,
): Promise<EventsWorkerResult> {
  const parsed = EventBatchJobSchema.safeParse(job.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new UnrecoverableError(`${QUEUE_NAMES.events} job ${job.id}: invalid payload${where}: ${issue?.message ?? "unknown"}`);
  }
  const timer = options.metrics?.batchDuration.startTimer();
  const outcome = await options.engine.processBatch(parsed.data.events, String(job.id));
  if (outcome.alerts.length) {
    await options.queues.alerts.addBulk(
      outcome.alerts.map((alert) => ({ name: alert.ruleId, data: alert, opts: { ...ALERT_JOB_OPTIONS, jobId: alert.id } })),
    );
  }
  timer?.();
  const events = parsed.data.events.length;
  options.metrics?.eventsProcessed.inc({ result: "new" }, events - outcome.duplicates);
  if (outcome.duplicates) options.metrics?.eventsProcessed.inc({ result: "duplicate" }, outcome.duplicates);
  return { events, alerts: outcome.alerts.length, duplicates: outcome.duplicates, late: outcome.late.length };
}

/** The engine role: a BullMQ worker on `vigil-events`. A bad job fails alone; the worker keeps going. */
export function startEventsWorker(options: EventsWorkerOptions): Worker<EventBatchJob, EventsWorkerResult> {
  const logger = options.logger.child({ component: "engine", queue: QUEUE_NAMES.events });
  const worker = new Worker<EventBatchJob, EventsWorkerResult>(QUEUE_NAMES.events, (job) => processEventBatch(job, options), {
    connection: options.connection,
    prefix: options.queuePrefix,
    concurrency: options.concurrency ?? 8,
    ...WORKER_RECOVERY_OPTIONS,
  });
  worker.on("completed", (job, result) => {
    if (result.alerts || result.late) logger.info({ jobId: job.id, source: job.data.source, ...result }, "batch evaluated");
    else logger.debug({ jobId: job.id, source: job.data.source, ...result }, "batch evaluated");
  });
  worker.on("failed", (job, err) => {
    logger.error({ jobId: job?.id, attemptsMade: job?.attemptsMade, err: err.message }, "batch failed");
  });
  worker.on("error", (err) => logger.error({ err: err.message }, "worker error"));
  return worker;
}
