import { Worker, UnrecoverableError, type ConnectionOptions, type JobsOptions, type Queue } from "bullmq";
import { z } from "zod";
import { AlertJobSchema, QUEUE_NAMES, WORKER_RECOVERY_OPTIONS, deliveryJobId, type Config, type DeliveryJob, type Keyspace, type Logger } from "@vigil/core";
import { routeAlert } from "./alert-routing.js";

/** Delivered jobs are kept as long as alert jobs, so a re-routed alert finds them and adds nothing. */
const DELIVERY_RETENTION_S = 7 * 86_400;

/** Retry schedule of every delivery job, from `config.notifier`. */
export function deliveryJobOptions(notifier: Config["notifier"]): JobsOptions {
  return {
    attempts: notifier.attempts,
    backoff: { type: "exponential", delay: notifier.backoff },
    removeOnComplete: { age: DELIVERY_RETENTION_S },
    removeOnFail: false,
  };
}

export interface AlertsWorkerOptions {
  config: Config;
  connection: ConnectionOptions;
  keyspace: Keyspace;
  logger: Logger;
  deliveries: Queue<DeliveryJob>;
}

/** What an alert job returns once routed (kept on the completed job). */
export interface AlertRouting {
  channels: string[];
}

/**
 * Turns each `vigil-alerts` job into one `vigil-deliveries` job per routed channel. The
 * delivery job id is derived from alert and channel, so a redelivered alert adds nothing.
 */
export function startAlertsWorker({ config, connection, keyspace, logger, deliveries }: AlertsWorkerOptions): Worker<unknown, AlertRouting> {
  const log = logger.child({ component: "notifier.alerts", queue: QUEUE_NAMES.alerts });
  const jobOptions = deliveryJobOptions(config.notifier);

  return new Worker<unknown, AlertRouting>(
    QUEUE_NAMES.alerts,
    async (job) => {
      const parsed = AlertJobSchema.safeParse(job.data);
      if (!parsed.success) {
        const message = `alert job ${job.id} holds no valid alert:\n${z.prettifyError(parsed.error)}`;
        log.error({ jobId: job.id }, message);
        throw new UnrecoverableError(message);
      }
      const alert = parsed.data;
      const jobLog = log.child({ jobId: job.id, alertId: alert.id, ruleId: alert.ruleId });
      const channels = routeAlert(alert, config);
      if (!channels.length) {
        jobLog.warn("alert goes to no channel: its rule has no notify list and no route matches");
        return { channels };
      }
      await deliveries.addBulk(
        channels.map((channel) => ({
          name: channel,
          data: { channel, alert } satisfies DeliveryJob,
          opts: { ...jobOptions, jobId: deliveryJobId(alert.id, channel) },
        })),
      );
      jobLog.info({ channels }, "alert routed");
      return { channels };
    },
    { connection, prefix: keyspace.queuePrefix, concurrency: config.notifier.concurrency, ...WORKER_RECOVERY_OPTIONS },
  );
}
