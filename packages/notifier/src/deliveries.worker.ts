import { UnrecoverableError, type Worker } from "bullmq";
import {
  DeliveryError,
  QUEUE_NAMES,
  deliveryJobId,
  errorMessage,
  openWorker,
  type Config,
  type DeliveryJob,
  type Keyspace,
  type Logger,
  type Metrics,
} from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { AlertHistory, HistoryEntry } from "./alert-history.js";
import { singleAlert, type Channel, type Notification } from "./channels/channel.js";
import type { DeliveryLedger } from "./delivery-ledger.js";

export interface DeliveriesWorkerOptions {
  config: Config;
  connection: RedisClient;
  keyspace: Keyspace;
  /** Read before each send and written right after the receiver accepts one. */
  ledger: DeliveryLedger;
  logger: Logger;
  metrics: Metrics;
  /** Configured channels by name. */
  channels: ReadonlyMap<string, Channel>;
  /** Each attempt's outcome is recorded on every alert the notification carries. */
  history: AlertHistory;
}

/**
 * Sends each `vigil-deliveries` job through its channel. Transient failures ride BullMQ's
 * retries; permanent ones (and spent attempts) leave the job in the failed set, which is
 * the failed-delivery store. A delivery the ledger records as sent (a job run again after a
 * crash, a retry or a re-add) completes without reaching the receiver again.
 */
export function startDeliveriesWorker({
  config,
  connection,
  keyspace,
  ledger,
  logger,
  metrics,
  channels,
  history,
}: DeliveriesWorkerOptions): Worker<DeliveryJob, void> {
  const component = logger.child({ component: "notifier.deliveries" });
  const log = component.child({ queue: QUEUE_NAMES.deliveries });

  return openWorker(
    "deliveries",
    async ({ channel: channelName, alert, group }, job) => {
      const notification: Notification = group
        ? {
            id: group.id,
            alerts: [alert, ...group.alerts.slice(1)],
            group: { route: group.route, labels: group.labels },
          }
        : singleAlert(alert);
      const jobLog = log.child({
        jobId: job.id,
        channel: channelName,
        alertId: alert.id,
        ruleId: alert.ruleId,
        ...(group ? { notificationId: group.id, alerts: group.alerts.length } : {}),
      });
      const attempt = job.attemptsMade + 1;
      const attempts = job.opts.attempts ?? 1;
      // One entry per run of an attempt: a retried failed delivery starts at attempt 1 again, and keeps the earlier entries.
      const record = (outcome: (HistoryEntry & { kind: "delivery" })["outcome"], answer?: string) =>
        history.add(
          notification.alerts.map((each) => each.id),
          `delivery:${notification.id}:${channelName}:${attempt}:${job.processedOn ?? 0}`,
          {
            kind: "delivery",
            at: new Date().toISOString(),
            channel: channelName,
            notificationId: notification.id,
            outcome,
            attempt,
            ...(answer ? { answer: answer.slice(0, 300) } : {}),
          },
        );

      const channel = channels.get(channelName);
      if (!channel) {
        const message = `unknown channel "${channelName}": no channel of that name in config.channels`;
        await record("failed", message);
        metrics.deliveries.inc({ channel: channelName, outcome: "failed" });
        metrics.notifications.inc({ channel: channelName, outcome: "failed" });
        jobLog.error({ attempt, attempts }, message);
        throw new UnrecoverableError(message);
      }

      const deliveryId = deliveryJobId(notification.id, channelName);
      const sent = await ledger.sent(deliveryId);
      if (sent) {
        metrics.deliveriesSkipped.inc({ channel: channelName, reason: "already_sent" });
        await record("already_sent", `accepted ${sent.sentAt} on attempt ${sent.attempt}`);
        jobLog.info(
          { attempt, sentAt: sent.sentAt, sentOnAttempt: sent.attempt },
          "delivery already accepted by the receiver (delivery ledger); not sent again",
        );
        return;
      }

      let answer: string | undefined;
      try {
        answer = await channel.send(notification, deliveryId);
      } catch (err) {
        const permanent = err instanceof DeliveryError ? err.permanent : err instanceof UnrecoverableError;
        const final = permanent || attempt >= attempts;
        await record(final ? "failed" : "retry", errorMessage(err));
        metrics.deliveries.inc({ channel: channelName, outcome: final ? "failed" : "retry" });
        if (final) metrics.notifications.inc({ channel: channelName, outcome: "failed" });
        // The err serializer keeps type, code, message, stack and cause only: a library error object may carry connection settings.
        const details = { attempt, attempts, permanent, err };
        if (final) jobLog.error(details, "delivery failed; kept in the failed deliveries");
        else jobLog.warn(details, "delivery failed; will retry");
        if (permanent && !(err instanceof UnrecoverableError)) throw new UnrecoverableError(errorMessage(err));
        throw err;
      }
      // The one write after acceptance: a crash before it is the only way this delivery is sent twice.
      await ledger.markSent(deliveryId, attempt);
      await record("sent", answer);
      metrics.deliveries.inc({ channel: channelName, outcome: "sent" });
      metrics.notifications.inc({ channel: channelName, outcome: "sent" });
      jobLog.info({ attempt }, "notification delivered");
    },
    { connection, queuePrefix: keyspace.queuePrefix, concurrency: config.notifier.concurrency, logger: component },
  );
}
