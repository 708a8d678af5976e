import type { ConnectionOptions, Worker } from "bullmq";
import {
  QUEUE_NAMES,
  deliveryJobId,
  openWorker,
  type Config,
  type GroupFlushJob,
  type Keyspace,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import type { AlertGroups } from "./alert-groups.js";
import type { AlertHistory } from "./alert-history.js";

export interface GroupsWorkerOptions {
  config: Config;
  connection: ConnectionOptions;
  keyspace: Keyspace;
  logger: Logger;
  metrics: Metrics;
  deliveries: VigilQueues["deliveries"];
  alertGroups: AlertGroups;
  history: AlertHistory;
}

/**
 * Runs each due `vigil-groups` job: takes the group's batch (atomically, the same batch however
 * often the job runs) and queues one delivery per channel carrying all of its alerts, with the
 * id `<group id>-<seq>-<channel>`, so a batch is notified once per channel. An empty batch sends nothing.
 */
export function startGroupsWorker({
  config,
  connection,
  keyspace,
  logger,
  metrics,
  deliveries,
  alertGroups,
  history,
}: GroupsWorkerOptions): Worker<GroupFlushJob, { alerts: number }> {
  const component = logger.child({ component: "notifier.groups" });
  const log = component.child({ queue: QUEUE_NAMES.groups });
  return openWorker(
    "groups",
    async (flush, job) => {
      const alerts = await alertGroups.take(flush.groupId, flush.seq, flush);
      const jobLog = log.child({ jobId: job.id, route: flush.route, groupId: flush.groupId, seq: flush.seq });
      const [first] = alerts;
      if (!first) {
        jobLog.info("group batch empty: nothing new, nothing sent");
        return { alerts: 0 };
      }
      const notificationId = `${flush.groupId}-${flush.seq}`;
      const group = { id: notificationId, route: flush.route, labels: flush.labels, alerts };
      await deliveries.addBulk(
        flush.channels.map((channel) => ({
          name: channel,
          data: { channel, alert: first, group },
          opts: { jobId: deliveryJobId(notificationId, channel) },
        })),
      );
      const alertIds = alerts.map((alert) => alert.id);
      await history.add(alertIds, `grouped:${notificationId}`, {
        kind: "grouped",
        at: new Date().toISOString(),
        route: flush.route,
        notificationId,
        alertIds,
      });
      // Counted on the first run only would need state; a batch run twice is rare (a crash) and counts twice.
      metrics.notificationGroupSize.observe({ route: flush.route }, alerts.length);
      jobLog.info({ alerts: alerts.length, channels: flush.channels }, "group notification queued");
      return { alerts: alerts.length };
    },
    { connection, queuePrefix: keyspace.queuePrefix, concurrency: config.notifier.concurrency, logger: component },
  );
}
