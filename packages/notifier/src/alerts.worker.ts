import type { ConnectionOptions, Worker } from "bullmq";
import {
  QUEUE_NAMES,
  deliveryJobId,
  openWorker,
  type Alert,
  type AlertJob,
  type Config,
  type Keyspace,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import type { AlertHistory } from "./alert-history.js";
import { AlertGroups } from "./alert-groups.js";
import { routeAlert, type RouteTarget } from "./alert-routing.js";
import type { Inhibitor } from "./inhibition.js";
import type { SilenceStore } from "./silences.js";

export interface AlertsWorkerOptions {
  config: Config;
  connection: ConnectionOptions;
  keyspace: Keyspace;
  logger: Logger;
  metrics: Metrics;
  /** Opened with the config, so each delivery job gets `config.notifier`'s retry schedule. */
  deliveries: VigilQueues["deliveries"];
  groups: VigilQueues["groups"];
  history: AlertHistory;
  silences: SilenceStore;
  inhibitor: Inhibitor;
  alertGroups: AlertGroups;
}

/** What an alert job returns (kept on the completed job). */
export interface AlertRouting {
  outcome: "routed" | "silenced" | "inhibited" | "unrouted";
  channels: string[];
}

/**
 * Decides what becomes of each `vigil-alerts` job: silenced, inhibited, unrouted, or routed. A
 * route without grouping gets one `vigil-deliveries` job per channel (id = alert id + channel); a
 * grouped route adds the alert to its group and schedules the group's batch as a delayed
 * `vigil-groups` job (id = group id + batch seq). Every step is idempotent, so an alert job run
 * again (a crash, a stalled lock, two replicas) adds nothing twice; each decision is recorded in
 * the alert history.
 */
export function startAlertsWorker(options: AlertsWorkerOptions): Worker<AlertJob, AlertRouting> {
  const { config, connection, keyspace, logger, metrics, history, silences, inhibitor } = options;
  const component = logger.child({ component: "notifier.alerts" });
  const log = component.child({ queue: QUEUE_NAMES.alerts });
  return openWorker(
    "alerts",
    async (alert, job): Promise<AlertRouting> => {
      const jobLog = log.child({ jobId: job.id, alertId: alert.id, ruleId: alert.ruleId });
      const at = new Date().toISOString();
      await history.recordAlert(alert);
      // A source inhibits while it exists, whatever becomes of it.
      await inhibitor.remember(alert);

      const silence = await silences.silencing(alert);
      if (silence) {
        await history.add([alert.id], "silenced", {
          kind: "silenced",
          at,
          silenceId: silence.id,
          reason: silence.reason,
        });
        metrics.alertsSilenced.inc({ rule: alert.ruleId });
        jobLog.info({ silenceId: silence.id }, "alert silenced");
        return { outcome: "silenced", channels: [] };
      }
      const inhibition = await inhibitor.check(alert);
      if (inhibition) {
        await history.add([alert.id], "inhibited", { kind: "inhibited", at, ...inhibition });
        metrics.alertsInhibited.inc({ rule: alert.ruleId });
        jobLog.info(inhibition, "alert inhibited");
        return { outcome: "inhibited", channels: [] };
      }

      const targets = routeAlert(alert, config);
      if (!targets.length) {
        await history.add([alert.id], "unrouted", { kind: "unrouted", at });
        metrics.alertsUnrouted.inc({ rule: alert.ruleId });
        jobLog.warn(
          "alert goes to no channel: its rule has no notify list, no route matches and there is no defaultRoute (recorded as unrouted)",
        );
        return { outcome: "unrouted", channels: [] };
      }
      await notify(alert, targets, options);
      await history.add([alert.id], "routed", {
        kind: "routed",
        at,
        targets: targets.map(({ route, channels, grouping }) => ({ route, channels, grouped: Boolean(grouping) })),
      });
      const channels = [...new Set(targets.flatMap((target) => target.channels))];
      jobLog.info({ routes: targets.map((target) => target.route), channels }, "alert routed");
      return { outcome: "routed", channels };
    },
    { connection, queuePrefix: keyspace.queuePrefix, concurrency: config.notifier.concurrency, logger: component },
  );
}

async function notify(alert: Alert, targets: readonly RouteTarget[], options: AlertsWorkerOptions): Promise<void> {
  const alone = [...new Set(targets.filter((target) => !target.grouping).flatMap((target) => target.channels))];
  if (alone.length) {
    await options.deliveries.addBulk(
      alone.map((channel) => ({
        name: channel,
        data: { channel, alert },
        opts: { jobId: deliveryJobId(alert.id, channel) },
      })),
    );
  }
  for (const target of targets) {
    if (!target.grouping) continue;
    const group = AlertGroups.group(target.route, target.grouping, alert);
    const batch = await options.alertGroups.add(group, target.grouping, alert);
    if (!batch) continue;
    await options.groups.add(
      "flush",
      {
        groupId: group.id,
        seq: batch.seq,
        route: target.route,
        channels: target.channels,
        labels: group.labels,
        groupInterval: target.grouping.groupInterval,
      },
      { jobId: `${group.id}-${batch.seq}`, delay: Math.max(0, batch.dueAt - Date.now()) },
    );
  }
}
