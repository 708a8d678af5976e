import { Worker, UnrecoverableError, type ConnectionOptions } from "bullmq";
import { z } from "zod";
import {
  DeliveryError,
  DeliveryJobSchema,
  QUEUE_NAMES,
  WORKER_RECOVERY_OPTIONS,
  deliveryJobId,
  errorMessage,
  type Config,
  type Keyspace,
  type Logger,
  type Metrics,
} from "@vigil/core";
import type { Channel } from "./channels/channel.js";

export interface DeliveriesWorkerOptions {
  config: Config;
  connection: ConnectionOptions;
  keyspace: Keyspace;
  logger: Logger;
  metrics: Metrics;
  /** Configured channels by name. */
  channels: ReadonlyMap<string, Channel>;
}

/**
 * Sends each `vigil-deliveries` job through its channel. Transient failures ride BullMQ's
 * retries; permanent ones (and spent attempts) leave the job in the failed set, which is
 * the failed-delivery store.
 */
export function startDeliveriesWorker({ config, connection, keyspace, logger, metrics, channels }: DeliveriesWorkerOptions): Worker<unknown, void> {
  const log = logger.child({ component: "notifier.deliveries", queue: QUEUE_NAMES.deliveries });

  return new Worker<unknown, void>(
    QUEUE_NAMES.deliveries,
    async (job) => {
      const parsed = DeliveryJobSchema.safeParse(job.data);
      if (!parsed.success) {
        const message = `delivery job ${job.id} holds no valid delivery:\n${z.prettifyError(parsed.error)}`;
        log.error({ jobId: job.id }, message);
        throw new UnrecoverableError(message);
      }
      const { channel: channelName, alert } = parsed.data;
      const jobLog = log.child({ jobId: job.id, channel: channelName, alertId: alert.id, ruleId: alert.ruleId });
      const attempt = job.attemptsMade + 1;
      const attempts = job.opts.attempts ?? 1;

      const channel = channels.get(channelName);
      if (!channel) {
        metrics.deliveries.inc({ channel: channelName, outcome: "failed" });
        const message = `unknown channel "${channelName}": no channel of that name in config.channels`;
        jobLog.error({ attempt, attempts }, message);
        throw new UnrecoverableError(message);
      }

      try {
        await channel.send(alert, deliveryJobId(alert.id, channelName));
      } catch (err) {
        const permanent = err instanceof DeliveryError ? err.permanent : err instanceof UnrecoverableError;
        const final = permanent || attempt >= attempts;
        metrics.deliveries.inc({ channel: channelName, outcome: final ? "failed" : "retry" });
        // Only the message is logged: a library error object may carry connection settings.
        const details = { attempt, attempts, permanent, error: errorMessage(err) };
        if (final) jobLog.error(details, "delivery failed; kept in the failed deliveries");
        else jobLog.warn(details, "delivery failed; will retry");
        if (permanent && !(err instanceof UnrecoverableError)) throw new UnrecoverableError(errorMessage(err));
        throw err;
      }
      metrics.deliveries.inc({ channel: channelName, outcome: "sent" });
      jobLog.info({ attempt }, "alert delivered");
    },
    { connection, prefix: keyspace.queuePrefix, concurrency: config.notifier.concurrency, ...WORKER_RECOVERY_OPTIONS },
  );
}
