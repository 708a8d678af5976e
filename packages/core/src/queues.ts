import {
  FlowProducer,
  Queue,
  UnrecoverableError,
  Worker,
  type ConnectionOptions,
  type Job,
  type JobsOptions,
  type BulkJobOptions,
} from "bullmq";
import { z } from "zod";
import { AlertSchema } from "./alert.js";
import type { Config } from "./config.js";
import { CONFIG_DEFAULTS } from "./config.js";
import { VigilError } from "./errors.js";
import { AuditEventSchema } from "./event.js";
import type { Logger } from "./logger.js";
import { formatZodError } from "./zod-problem.js";

/** Payload of a `vigil-events` job: a batch of normalized events from one source. */
export const EventBatchJobSchema = z.object({
  source: z.string(),
  events: z.array(AuditEventSchema).min(1),
  /**
   * Per event id, how far (ms) the event lay behind the newest event its source had delivered
   * before it (core's DeliveryOrder); only events with a lag above 0. Lateness is judged on it.
   */
  lags: z.record(z.string(), z.number().int().positive()).optional(),
});
export type EventBatchJob = z.infer<typeof EventBatchJobSchema>;

/** A source's progress, as of one pull step: what the engine's watermark of the source advances to. */
export const SourceMarkSchema = z.object({
  /** Per source, 1, 2, 3…: the engine applies marks only contiguously (mark k once every mark below k is applied). */
  seq: z.number().int().positive(),
  /** The newest event time (ms) the source had delivered, up to and including this step. */
  delivered: z.number().int().optional(),
  /** An event time (ms) below which the source will deliver nothing more (a windowed connector's checkpoint minus its lookback). */
  bound: z.number().int().optional(),
  /**
   * `vigil sources reset`: the source reads again from this event time (ms; the earliest time
   * when it starts from the beginning). The one mark that moves a watermark back: the source's
   * delivered time is forgotten and its bound set to it.
   */
  reset: z.number().int().optional(),
});
export type SourceMark = z.infer<typeof SourceMarkSchema>;

/**
 * A `vigil-events` job that carries a source's watermark in band: queued as the parent of a
 * pull step's batches (a BullMQ flow), so it runs only once each of them is processed.
 */
export const WatermarkJobSchema = z.object({ source: z.string().min(1), mark: SourceMarkSchema });
export type WatermarkJob = z.infer<typeof WatermarkJobSchema>;

export type EventsJob = EventBatchJob | WatermarkJob;
/**
 * Every `vigil-events` payload: a source watermark when it has a `mark`, else an event batch
 * (each checked by its own schema, so problems name their fields).
 */
export const EventsJobSchema = z.unknown().transform((value, ctx): EventsJob => {
  const isMark = typeof value === "object" && value !== null && "mark" in value;
  const parsed = (isMark ? WatermarkJobSchema : EventBatchJobSchema).safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});

/** Payload of a `vigil-alerts` job: the alert itself (job id = alert id). */
export const AlertJobSchema = AlertSchema;
export type AlertJob = z.infer<typeof AlertJobSchema>;

/**
 * Payload of a `vigil-deliveries` job: one notification to one channel (job id = notification id +
 * channel). An alert notified alone is `alert`; a group's notification carries `group`, whose
 * `alerts` start with `alert`.
 */
export const DeliveryJobSchema = z.object({
  channel: z.string(),
  alert: AlertSchema,
  group: z
    .object({
      /** `<group id>-<batch seq>`: the notification's id. */
      id: z.string().min(1),
      route: z.string(),
      /** The group's `groupBy` fields mapped to their values. */
      labels: z.record(z.string(), z.unknown()),
      alerts: z.array(AlertSchema).min(1),
    })
    .optional(),
});
export type DeliveryJob = z.infer<typeof DeliveryJobSchema>;

/** Payload of a `vigil-groups` job: send what a group gathered (job id = group id + batch seq, delayed until due). */
export const GroupFlushJobSchema = z.object({
  groupId: z.string().min(1),
  seq: z.number().int().min(0),
  route: z.string(),
  channels: z.array(z.string()).min(1),
  labels: z.record(z.string(), z.unknown()),
  groupInterval: z.number().int().positive(),
});
export type GroupFlushJob = z.infer<typeof GroupFlushJobSchema>;

/** Payload of a `vigil-polls` job: which source to pull. Produced by the job schedulers, read by the poll worker. */
export const PollJobSchema = z.object({ source: z.string().min(1) });
export type PollJob = z.infer<typeof PollJobSchema>;

const DAY_S = 86_400;

/**
 * How long a delivered alert is remembered, in seconds: completed delivery and alert jobs are kept
 * this long (a re-added job id is dropped) and the notifier's delivery ledger holds its "sent"
 * entries as long, so nothing inside this horizon re-sends a delivery.
 */
export const DELIVERED_RETENTION_S = 7 * DAY_S;

/**
 * Lock and stall settings every Vigil worker runs with. A killed worker's jobs are taken up by
 * another within `lockDuration + stalledInterval` (≤ 7.5 s) rather than BullMQ's default 30–60 s;
 * the lock is renewed every `lockDuration / 2`, far more often than any batch runs. A crash
 * loop moves a job back to waiting on each stall without touching its attempts, and only after
 * `maxStalledCount` stalls is it failed (and kept, visible and re-drivable like any failed job).
 */
export const WORKER_RECOVERY_OPTIONS = {
  lockDuration: 5_000,
  stalledInterval: 2_500,
  maxStalledCount: 50,
} as const satisfies { lockDuration: number; stalledInterval: number; maxStalledCount: number };

/**
 * Most completed alert and delivery jobs kept, beside their age: a burst of alerts cannot grow
 * Redis without bound. A delivery dropped early is still never sent twice (the delivery ledger
 * holds its id for {@link DELIVERED_RETENTION_S}).
 */
export const COMPLETED_ALERTS_KEPT = 50_000;
export const COMPLETED_DELIVERIES_KEPT = 100_000;

/** Default options of `vigil-events` jobs. */
export const EVENT_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: false,
};

/** Default options of `vigil-alerts` jobs. Completed ones are kept a week so a re-enqueued alert id is recognised and dropped. */
export const ALERT_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: DELIVERED_RETENTION_S, count: COMPLETED_ALERTS_KEPT },
  removeOnFail: false,
};

/** One queue of the catalog: its name, the schema of its payload, and the options of its jobs. */
export interface QueueDefinition<S extends z.ZodType> {
  /** The BullMQ queue name (under the keyspace's prefix). */
  readonly name: string;
  /** Every job's payload; checked when a job is added and again when it is processed. */
  readonly schema: S;
  /** Default options of every job, given the config (only the deliveries' depend on it). */
  jobOptions(config: Pick<Config, "notifier">): JobsOptions;
}

const defineQueue = <S extends z.ZodType>(definition: QueueDefinition<S>): QueueDefinition<S> => definition;

/**
 * The queue catalog: every queue Vigil uses, with its payload schema and job options. Each queue
 * is opened through {@link openQueue} (the pipeline ones by {@link openQueues}) and consumed
 * through {@link openWorker}, so a payload is validated on add and again on process.
 */
export const QUEUES = {
  /** Batches of normalized events, from the connectors to the engine. */
  events: defineQueue({
    name: "vigil-events",
    schema: EventsJobSchema,
    jobOptions: () => EVENT_JOB_OPTIONS,
  }),
  /** One job per alert (job id = alert id), from the engine to the notifier. */
  alerts: defineQueue({
    name: "vigil-alerts",
    schema: AlertJobSchema,
    jobOptions: () => ALERT_JOB_OPTIONS,
  }),
  /**
   * One job per alert and channel, retried on `config.notifier`'s schedule; the failed set is the
   * failed-delivery store. Delivered jobs are kept as long as alert jobs, so a re-routed alert adds nothing.
   */
  deliveries: defineQueue({
    name: "vigil-deliveries",
    schema: DeliveryJobSchema,
    jobOptions: ({ notifier }) => ({
      attempts: notifier.attempts,
      backoff: { type: "exponential", delay: notifier.backoff },
      removeOnComplete: { age: DELIVERED_RETENTION_S, count: COMPLETED_DELIVERIES_KEPT },
      removeOnFail: false,
    }),
  }),
  /**
   * One delayed job per group batch (job id = group id + seq), from the alerts worker to the group
   * worker: due at the end of `groupWait` (or the group's next interval), it turns the batch into
   * deliveries. Kept as long as deliveries, so a re-added batch adds nothing.
   */
  groups: defineQueue({
    name: "vigil-groups",
    schema: GroupFlushJobSchema,
    jobOptions: () => ({
      attempts: 20,
      backoff: { type: "exponential", delay: 1_000 },
      removeOnComplete: { age: DELIVERED_RETENTION_S, count: COMPLETED_ALERTS_KEPT },
      removeOnFail: false,
    }),
  }),
  /** Poll ticks, one job scheduler per enabled source (the connectors' schedule). */
  polls: defineQueue({
    name: "vigil-polls",
    schema: PollJobSchema,
    jobOptions: () => ({
      attempts: 1,
      removeOnComplete: { age: DAY_S, count: 100 },
      removeOnFail: { age: 7 * DAY_S, count: 100 },
    }),
  }),
} as const;

export type QueueKey = keyof typeof QUEUES;
/** The payload type of a catalog queue. */
export type QueuePayload<K extends QueueKey> = z.infer<(typeof QUEUES)[K]["schema"]>;

/** Queue names by key, e.g. `QUEUE_NAMES.events === "vigil-events"`. */
export const QUEUE_NAMES = {
  events: QUEUES.events.name,
  alerts: QUEUES.alerts.name,
  deliveries: QUEUES.deliveries.name,
  groups: QUEUES.groups.name,
  polls: QUEUES.polls.name,
} as const satisfies Record<QueueKey, string>;
export type QueueName = (typeof QUEUE_NAMES)[QueueKey];

export function deliveryJobId(alertId: string, channel: string): string {
  return `${alertId}-${channel}`;
}

/** A payload that does not match its queue's schema, refused before it is added. */
export class QueuePayloadError extends VigilError {
  constructor(
    readonly queue: string,
    /** Every problem of the payload, `key: message`, `; `-separated. */
    readonly problems: string,
  ) {
    super("QUEUE_PAYLOAD_INVALID", `${queue}: invalid payload: ${problems}`, { queue });
  }
}

/** The catalog's one check of a payload; throws {@link QueuePayloadError} naming the queue and the field. */
export function parseQueuePayload<K extends QueueKey>(key: K, data: unknown): QueuePayload<K> {
  const definition = QUEUES[key];
  const result = definition.schema.safeParse(data);
  if (!result.success) throw new QueuePayloadError(definition.name, formatZodError(result.error));
  return result.data as QueuePayload<K>;
}

/** A BullMQ queue of the catalog: `add` and `addBulk` validate each payload before anything is written. */
export class CatalogQueue<K extends QueueKey> extends Queue<
  QueuePayload<K>,
  unknown,
  string,
  QueuePayload<K>,
  unknown,
  string
> {
  constructor(
    readonly key: K,
    connection: ConnectionOptions,
    queuePrefix: string,
    config: Pick<Config, "notifier">,
  ) {
    super(QUEUES[key].name, { connection, prefix: queuePrefix, defaultJobOptions: QUEUES[key].jobOptions(config) });
  }

  override async add(
    name: string,
    data: QueuePayload<K>,
    opts?: JobsOptions,
  ): Promise<Job<QueuePayload<K>, unknown, string>> {
    return super.add(name, parseQueuePayload(this.key, data), opts);
  }

  override async addBulk(
    jobs: { name: string; data: QueuePayload<K>; opts?: BulkJobOptions }[],
  ): Promise<Job<QueuePayload<K>, unknown, string>[]> {
    return super.addBulk(jobs.map((job) => ({ ...job, data: parseQueuePayload(this.key, job.data) })));
  }

  private flows: FlowProducer | undefined;

  /**
   * Adds `parent` and `children` in one transaction (a BullMQ flow): the parent runs only once
   * every child is processed. Payloads are validated and the queue's job options applied. Children
   * whose job id already exists are left out (a re-queued batch is not added twice, and a job that
   * already has a parent keeps it); returns how many children were added.
   */
  async addWithChildren(
    parent: { name: string; data: QueuePayload<K>; opts: { jobId: string } },
    children: { name: string; data: QueuePayload<K>; opts: { jobId: string } }[],
  ): Promise<number> {
    const existing = await Promise.all(children.map((child) => this.getJob(child.opts.jobId)));
    const fresh = children.filter((_, i) => existing[i] === undefined);
    this.flows ??= new FlowProducer({ connection: this.opts.connection, prefix: this.opts.prefix });
    const node = (job: { name: string; data: QueuePayload<K>; opts: { jobId: string } }) => ({
      name: job.name,
      queueName: this.name,
      data: parseQueuePayload(this.key, job.data),
      opts: { ...this.defaultJobOptions, ...job.opts },
    });
    await this.flows.add({ ...node(parent), children: fresh.map(node) });
    return fresh.length;
  }

  override async close(): Promise<void> {
    await this.flows?.close();
    await super.close();
  }
}

const DEFAULT_NOTIFIER: Pick<Config, "notifier"> = { notifier: CONFIG_DEFAULTS.notifier };

/**
 * Opens one catalog queue under a keyspace's BullMQ prefix (`keyspace.queuePrefix`). `config`
 * supplies the deliveries' retry schedule; without it, the config defaults apply.
 */
export function openQueue<K extends QueueKey>(
  key: K,
  connection: ConnectionOptions,
  queuePrefix: string,
  config: Pick<Config, "notifier"> = DEFAULT_NOTIFIER,
): CatalogQueue<K> {
  return new CatalogQueue(key, connection, queuePrefix, config);
}

export interface VigilQueues {
  events: CatalogQueue<"events">;
  alerts: CatalogQueue<"alerts">;
  deliveries: CatalogQueue<"deliveries">;
  groups: CatalogQueue<"groups">;
  close(): Promise<void>;
}

/** Opens the four pipeline queues under a keyspace's BullMQ prefix: the one place each is opened in a process. */
export function openQueues(
  connection: ConnectionOptions,
  queuePrefix: string,
  config?: Pick<Config, "notifier">,
): VigilQueues {
  const events = openQueue("events", connection, queuePrefix, config);
  const alerts = openQueue("alerts", connection, queuePrefix, config);
  const deliveries = openQueue("deliveries", connection, queuePrefix, config);
  const groups = openQueue("groups", connection, queuePrefix, config);
  return {
    events,
    alerts,
    deliveries,
    groups,
    async close() {
      await Promise.all([events.close(), alerts.close(), deliveries.close(), groups.close()]);
    },
  };
}

export interface OpenWorkerOptions {
  connection: ConnectionOptions;
  queuePrefix: string;
  concurrency: number;
  /** Gets the worker's connection errors and the payloads it refuses, with `queue` bound. */
  logger: Logger;
}

/**
 * Consumes a catalog queue. Each job's payload is validated before `process` sees it; an invalid
 * one is logged and fails the job at once with an UnrecoverableError naming the queue, the job and
 * the field, so it stays in the failed set (nothing is lost) and the worker goes on.
 */
export function openWorker<K extends QueueKey, R>(
  key: K,
  process: (data: QueuePayload<K>, job: Job<QueuePayload<K>>) => Promise<R>,
  options: OpenWorkerOptions,
): Worker<QueuePayload<K>, R> {
  const { name } = QUEUES[key];
  const logger = options.logger.child({ queue: name });
  const worker = new Worker<QueuePayload<K>, R>(
    name,
    (job) => {
      const result = QUEUES[key].schema.safeParse(job.data);
      if (!result.success) {
        const message = `${name} job ${job.id}: invalid payload: ${formatZodError(result.error)}`;
        logger.error({ jobId: job.id }, message);
        throw new UnrecoverableError(message);
      }
      return process(result.data as QueuePayload<K>, job);
    },
    {
      connection: options.connection,
      prefix: options.queuePrefix,
      concurrency: options.concurrency,
      ...WORKER_RECOVERY_OPTIONS,
    },
  );
  worker.on("error", (err) => logger.error({ err }, "queue connection error"));
  return worker;
}

/** What {@link retryFailedJobs} did: the ids sent again, and those that were not failed (or do not exist). */
export interface RetryResult {
  retried: string[];
  missing: string[];
}

/**
 * Moves failed jobs back to their queue with their attempt and stall counters reset, so each
 * gets its full retry schedule again. `"all"` takes every job failed at the time of the call
 * (a snapshot, so jobs failing again during the retry are not retried twice).
 */
export async function retryFailedJobs(queue: Queue, ids: string[] | "all"): Promise<RetryResult> {
  const wanted = ids === "all" ? [...new Set(await queue.getRanges(["failed"], 0, -1))] : [...new Set(ids)];
  const result: RetryResult = { retried: [], missing: [] };
  for (const id of wanted) {
    const job = await queue.getJob(id);
    if (!job || (await job.getState()) !== "failed") {
      result.missing.push(id);
      continue;
    }
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    result.retried.push(id);
  }
  return result;
}
