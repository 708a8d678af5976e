import type { Redis } from "ioredis";
import {
  createMetrics,
  silentLogger,
  type Config,
  type Keyspace,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import { startAlertsWorker } from "./alerts.worker.js";
import type { Channel } from "./channels/channel.js";
import { createChannel } from "./channels/channel-registry.js";
import { startDeliveriesWorker } from "./deliveries.worker.js";
import { DeliveryLedger } from "./delivery-ledger.js";

export interface NotifierOptions {
  config: Config;
  /** An ioredis instance made with `createRedis`: the workers' connection and the delivery ledger's. */
  connection: Redis;
  keyspace: Keyspace;
  /** From core's `openQueues(…, config)`; alerts are routed into `deliveries`. The caller closes it. */
  queues: Pick<VigilQueues, "deliveries">;
  logger?: Logger;
  metrics?: Metrics;
}

export interface Notifier {
  /** Resolves once both workers are connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, lets in-flight deliveries finish, then closes the channels' connections. */
  close(): Promise<void>;
}

/** Runs the notifier role: routes `vigil-alerts` into `vigil-deliveries` and delivers those. */
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
  const { deliveries } = queues;
  const alertsWorker = startAlertsWorker({ config, connection, keyspace, logger, deliveries });
  const ledger = new DeliveryLedger(connection, keyspace);
  const deliveriesWorker = startDeliveriesWorker({ config, connection, keyspace, ledger, logger, metrics, channels });

  log.info({ channels: [...channels.keys()], routes: config.routes.length }, "notifier started");

  let closing: Promise<void> | undefined;
  return {
    async ready() {
      await Promise.all([
        alertsWorker.waitUntilReady(),
        deliveriesWorker.waitUntilReady(),
        deliveries.waitUntilReady(),
      ]);
    },
    close() {
      closing ??= (async () => {
        await Promise.all([alertsWorker.close(), deliveriesWorker.close()]);
        await Promise.all([...channels.values()].map((channel) => channel.close?.()));
        log.info("notifier stopped");
      })();
      return closing;
    },
  };
}
