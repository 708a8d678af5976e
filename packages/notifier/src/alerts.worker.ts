import type { ConnectionOptions, Worker } from "bullmq";
import {
  QUEUE_NAMES,
  deliveryJobId,
  openWorker,
  type AlertJob,
  type Config,
  type Keyspace,
  type Logger,
  type VigilQueues,
} from "@vigil/core";
import { routeAlert } from "./alert-routing.js";

export interface AlertsWorkerOptions {
  config: Config;
  connection: ConnectionOptions;
  keyspace: Keyspace;
  logger: Logger;
  /** Opened with the config, so each delivery job gets `config.notifier`'s retry schedule. */
  deliveries: VigilQueues["deliveries"];
}

/** What an alert job returns once routed (kept on the completed job). */
export interface AlertRouting {
  channels: string[];
}

/**
 * Turns each `vigil-alerts` job into one `vigil-deliveries` job per routed channel. The
 * delivery job id is derived from alert and channel, so a redelivered alert adds nothing.
 */
export function startAlertsWorker({
  config,
  connection,
  keyspace,
  logger,
  deliveries,
}: AlertsWorkerOptions): Worker<AlertJob, AlertRouting> {
  const component = logger.child({ component: "notifier.alerts" });
  const log = component.child({ queue: QUEUE_NAMES.alerts });
  return openWorker(
    "alerts",
    async (alert, job) => {
      const jobLog = log.child({ jobId: job.id, alertId: alert.id, ruleId: alert.ruleId });
      const channels = routeAlert(alert, config);
      if (!channels.length) {
        jobLog.warn("alert goes to no channel: its rule has no notify list and no route matches");
        return { channels };
      }
      await deliveries.addBulk(
        channels.map((channel) => ({
          name: channel,
          data: { channel, alert },
          opts: { jobId: deliveryJobId(alert.id, channel) },
        })),
      );
      jobLog.info({ channels }, "alert routed");
      return { channels };
    },
    { connection, queuePrefix: keyspace.queuePrefix, concurrency: config.notifier.concurrency, logger: component },
  );
}
