import type { RedisClient } from "@vigil/core";
import {
  createMetrics,
  silentLogger,
  type Config,
  type Keyspace,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import { AlertGroups } from "./alert-groups.js";
import { AlertHistory } from "./alert-history.js";
import { startAlertsWorker } from "./alerts.worker.js";
import type { Channel } from "./channels/channel.js";
import { createChannel } from "./channels/channel-registry.js";
import { startDeliveriesWorker } from "./deliveries.worker.js";
import { DeliveryLedger } from "./delivery-ledger.js";
import { startGroupsWorker } from "./groups.worker.js";
import { Inhibitor } from "./inhibition.js";
import { SilenceStore } from "./silences.js";

export interface NotifierOptions {
  config: Config;
  /** An ioredis instance made with `createRedis`: the workers' connection and the delivery ledger's. */
  connection: RedisClient;
  keyspace: Keyspace;
  /** From core's `openQueues(…, config)`; alerts are routed into `deliveries` and `groups`. The caller closes them. */
  queues: Pick<VigilQueues, "deliveries" | "groups">;
  logger?: Logger;
  metrics?: Metrics;
}

export interface Notifier {
  /** Resolves once the workers are connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, lets in-flight deliveries finish, then closes the channels' connections. */
  close(): Promise<void>;
}

/**
 * Runs the notifier role: decides each `vigil-alerts` alert (silenced, inhibited, routed, grouped),
 * sends group batches when due (`vigil-groups`) and delivers `vigil-deliveries`.
 */
export function startNotifier({
  config,
  connection,
  keyspace,
  queues,
  logger = silentLogger,
  metrics = createMetrics(),
}: NotifierOptions): Notifier {
  const log = logger.child({ component: "notifier" });
  const channels = new Map<string, Channel>(
    config.channels.map((channelConfig) => [
      channelConfig.name,
      createChannel(channelConfig, { redis: connection, keyspace }),
    ]),
  );
  const { deliveries, groups } = queues;
  const history = new AlertHistory(connection, keyspace, config.alertHistory);
  const alertGroups = new AlertGroups(connection, keyspace);
  const alertsWorker = startAlertsWorker({
    config,
    connection,
    keyspace,
    logger,
    metrics,
    deliveries,
    groups,
    history,
    alertGroups,
    silences: new SilenceStore(connection, keyspace, config.silences),
    inhibitor: new Inhibitor(connection, keyspace, config.inhibit),
  });
  const groupsWorker = startGroupsWorker({
    config,
    connection,
    keyspace,
    logger,
    metrics,
    deliveries,
    alertGroups,
    history,
  });
  const ledger = new DeliveryLedger(connection, keyspace);
  const deliveriesWorker = startDeliveriesWorker({
    config,
    connection,
    keyspace,
    ledger,
    logger,
    metrics,
    channels,
    history,
  });

  log.info({ channels: [...channels.keys()], routes: config.routes.length }, "notifier started");

  let closing: Promise<void> | undefined;
  return {
    async ready() {
      await Promise.all([
        alertsWorker.waitUntilReady(),
        groupsWorker.waitUntilReady(),
        deliveriesWorker.waitUntilReady(),
        deliveries.waitUntilReady(),
        groups.waitUntilReady(),
      ]);
    },
    close() {
      closing ??= (async () => {
        await Promise.all([alertsWorker.close(), groupsWorker.close(), deliveriesWorker.close()]);
        await Promise.all([...channels.values()].map((channel) => channel.close?.()));
        log.info("notifier stopped");
      })();
      return closing;
    },
  };
}
