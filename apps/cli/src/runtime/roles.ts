import type { RedisClient } from "@vigil/core";
import type { Queue, Worker } from "bullmq";
import { ruleLoadOptions } from "../rule-options.js";
import {
  connectRedis,
  Keyspace,
  MAX_ALERT_EVENT_IDS,
  openQueue,
  openQueues,
  describeRedis,
  watchRedis,
  type Logger,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import {
  Engine,
  ipGeoFromConfig,
  loadRuleSet,
  claimStateShards,
  RedisRuleStateStore,
  RuleStateSweeper,
  RuleSetWatcher,
  startEventsWorker,
  type LoadedRule,
  type RuleSet,
} from "@vigil/engine";
import { sourceIdentities, startPollWorker, type PollWorker } from "@vigil/connectors";
import { startNotifier, type Notifier } from "@vigil/notifier";
import { startHealthServer } from "./http-server.js";
import { ShutdownManager } from "./shutdown.js";
import { unroutedRuleWarnings } from "../unrouted-rules.js";
import type { VigilConfig as Config } from "../vigil-config.js";

export const ROLES = ["connectors", "engine", "notifier"] as const;
export type Role = (typeof ROLES)[number];

export interface VigilProcess {
  redis: RedisClient;
  keyspace: Keyspace;
  queues: VigilQueues;
  rules: LoadedRule[];
  pollWorker?: PollWorker;
  engineWorker?: Worker;
  notifier?: Notifier;
  healthPort?: number;
  shutdown: ShutdownManager;
}

export interface StartOptions {
  config: Config;
  roles: readonly Role[];
  logger: Logger;
  metrics: Metrics;
  /** Serve /healthz, /readyz and /metrics (on config.server). */
  serveHttp?: boolean;
  /** Do not schedule polls (the demo pulls by hand). */
  schedulePolls?: boolean;
  /** The process's shutdown sequence, when the caller installed its handlers before starting; else a new one. */
  shutdown?: ShutdownManager;
  /** How long to wait for Redis to answer at start-up (default 10 s); then a `RedisConnectError`. */
  redisWaitMs?: number;
}

/** Starts the requested roles in this process, in dependency order, with one shutdown sequence. */
export async function startVigil(options: StartOptions): Promise<VigilProcess> {
  const { config, logger, metrics } = options;
  const roles = new Set(options.roles);
  // Load rules before touching Redis: a broken rule file should fail fast and clearly.
  const ruleSet: RuleSet = roles.has("engine")
    ? loadRuleSet(config.rules.paths, ruleLoadOptions(config))
    : { rules: [], hash: "", warnings: [] };
  const rules = ruleSet.rules;
  const shutdown = options.shutdown ?? new ShutdownManager(logger);
  let accepting = true;
  let closeServer: (() => Promise<void>) | undefined;
  // Filled in once Redis answers: until then /readyz says 503 and /metrics has no queue gauges.
  let redisReady: RedisClient | undefined;
  let metricsQueues: readonly Queue[] = [];
  shutdown.add("readiness off", () => {
    accepting = false;
  });

  // The health server comes first, so /healthz answers (and /readyz says 503) while start-up waits for Redis.
  let healthPort: number | undefined;
  if (options.serveHttp) {
    const server = await startHealthServer({
      host: config.server.host,
      port: config.server.port,
      metrics,
      queues: () => metricsQueues,
      // /healthz never looks at Redis (a Redis outage must not get pods restarted); /readyz does.
      isReady: async () => accepting && redisReady?.status === "ready" && (await redisReady.ping()) === "PONG",
    });
    healthPort = server.port;
    logger.info({ port: server.port }, "health and metrics server listening");
    // Closed last, so /readyz reports not-ready while the workers drain.
    closeServer = server.close;
  }

  // A malformed URL, refused credentials or no Redis within the wait: one clear error, before any worker starts.
  let redis: RedisClient;
  try {
    redis = await connectRedis(config.redis, { timeoutMs: options.redisWaitMs ?? 10_000, logger });
  } catch (err) {
    await closeServer?.();
    throw err;
  }
  const keyspace = new Keyspace(config.redis.prefix);
  // The rule state's layout must be the one it was written in: a changed shard count stops here.
  let stateShards = config.engine.stateShards;
  if (roles.has("engine")) {
    try {
      stateShards = await claimStateShards(redis, keyspace, config.engine.stateShards);
    } catch (err) {
      await closeServer?.();
      redis.disconnect();
      throw err;
    }
  }
  watchRedis(redis, logger, config.redis);
  const queues = openQueues(redis, keyspace.queuePrefix, config);
  const started: VigilProcess = { redis, keyspace, queues, rules, shutdown };
  if (healthPort !== undefined) started.healthPort = healthPort;
  if (options.serveHttp) {
    // Read by /metrics only, so failed poll jobs are counted like the pipeline's.
    const pollQueue = openQueue("polls", redis, keyspace.queuePrefix);
    shutdown.add("poll queue (metrics)", () => pollQueue.close());
    metricsQueues = [queues.events, queues.alerts, queues.deliveries, queues.groups, pollQueue];
  }
  redisReady = redis;

  if (roles.has("connectors")) {
    started.pollWorker = await startPollWorker({
      config,
      connection: redis,
      keyspace,
      queues,
      logger,
      metrics,
      schedule: options.schedulePolls ?? true,
    });
    shutdown.add("pollers", () => started.pollWorker?.close());
  }
  if (roles.has("engine")) {
    const store = new RedisRuleStateStore(redis, keyspace, {
      seenTtlMs: config.engine.dedupFor,
      maxEventIds: MAX_ALERT_EVENT_IDS,
      shards: stateShards,
    });
    const engineLogger = logger.child({ component: "engine" });
    const geo = ipGeoFromConfig(config.engine.geoip);
    // Every role reads the same config: each rule's watermark is taken over the enabled sources it can read.
    const engineOptions = {
      logger: engineLogger,
      metrics,
      sources: sourceIdentities(config.sources),
      ...(geo ? { geo } : {}),
    };
    let engine = new Engine(rules, store, engineOptions);
    const watcher = new RuleSetWatcher({
      paths: config.rules.paths,
      loadOptions: ruleLoadOptions(config),
      initial: ruleSet,
      everyMs: config.rules.watchEvery,
      // Swapped between batches: a batch in flight finishes with the rules it started with.
      apply: (set) => {
        engine = new Engine(set.rules, store, engineOptions);
      },
      logger,
      metrics,
    });
    if (config.rules.watch) {
      watcher.start();
      shutdown.add("rules watcher", () => watcher.stop());
    }
    started.engineWorker = startEventsWorker({
      engine: () => engine,
      connection: redis,
      queuePrefix: keyspace.queuePrefix,
      queues,
      logger,
      metrics,
      concurrency: config.engine.concurrency,
      sourceBlindAfterMs: config.engine.sourceBlindAfter,
      sweeper: new RuleStateSweeper(redis, keyspace, {
        shards: stateShards,
        graceMs: config.engine.stateGracePeriod,
        logger: engineLogger,
        metrics,
      }),
    });
    shutdown.add("engine worker", () => started.engineWorker?.close());
    logger.info({ rules: engine.ruleIds.length, hash: ruleSet.hash, watch: config.rules.watch }, "engine started");
    for (const warning of unroutedRuleWarnings(rules, config)) engineLogger.warn(warning);
  }
  if (roles.has("notifier")) {
    started.notifier = startNotifier({ config, connection: redis, keyspace, queues, logger, metrics });
    shutdown.add("notifier", () => started.notifier?.close());
  }
  shutdown.add("queues", () => queues.close());
  if (closeServer) shutdown.add("http server", closeServer);
  shutdown.add("redis", () => redis.quit());
  logger.info({ roles: [...roles], redis: describeRedis(config.redis), prefix: config.redis.prefix }, "vigil started");
  return started;
}
