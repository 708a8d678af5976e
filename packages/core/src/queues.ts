import { Queue, type JobsOptions, type ConnectionOptions } from "bullmq";
import { z } from "zod";
import { AlertSchema } from "./alert.js";
import { AuditEventSchema } from "./event.js";

export const QUEUE_NAMES = {
  events: "vigil-events",
  alerts: "vigil-alerts",
  deliveries: "vigil-deliveries",
  /** Poll ticks, one job scheduler per enabled source (owned by @vigil/connectors). */
  polls: "vigil-polls",
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** Payload of a `vigil-events` job: a batch of normalized events from one source. */
export const EventBatchJobSchema = z.object({
  source: z.string(),
  events: z.array(AuditEventSchema).min(1),
});
export type EventBatchJob = z.infer<typeof EventBatchJobSchema>;

/** Payload of a `vigil-alerts` job: the alert itself (job id = alert id). */
export const AlertJobSchema = AlertSchema;
export type AlertJob = z.infer<typeof AlertJobSchema>;

/** Payload of a `vigil-deliveries` job: one alert to one channel (job id = alert id + channel). */
export const DeliveryJobSchema = z.object({
  channel: z.string(),
  alert: AlertSchema,
});
export type DeliveryJob = z.infer<typeof DeliveryJobSchema>;

const DAY_S = 86_400;

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

export const EVENT_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: false,
};

/** Completed alert jobs are kept a week so a re-enqueued alert id is recognised and dropped. */
export const ALERT_JOB_OPTIONS: JobsOptions = {
  attempts: 20,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 7 * DAY_S },
  removeOnFail: false,
};

export function deliveryJobId(alertId: string, channel: string): string {
  return `${alertId}-${channel}`;
}

export interface VigilQueues {
  events: Queue<EventBatchJob>;
  alerts: Queue<AlertJob>;
  deliveries: Queue<DeliveryJob>;
  close(): Promise<void>;
}

/** Opens the three pipeline queues under a keyspace's BullMQ prefix. */
export function openQueues(connection: ConnectionOptions, queuePrefix: string): VigilQueues {
  const events = new Queue<EventBatchJob>(QUEUE_NAMES.events, { connection, prefix: queuePrefix, defaultJobOptions: EVENT_JOB_OPTIONS });
  const alerts = new Queue<AlertJob>(QUEUE_NAMES.alerts, { connection, prefix: queuePrefix, defaultJobOptions: ALERT_JOB_OPTIONS });
  const deliveries = new Queue<DeliveryJob>(QUEUE_NAMES.deliveries, { connection, prefix: queuePrefix });
  return {
    events,
    alerts,
    deliveries,
    async close() {
      await Promise.all([events.close(), alerts.close(), deliveries.close()]);
    },
  };
}
