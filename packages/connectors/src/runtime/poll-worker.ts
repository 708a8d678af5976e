import {
  openQueue,
  openWorker,
  type CatalogQueue,
  type Config,
  type Keyspace,
  type Logger,
  type Metrics,
  type PollJob,
  type SourceConfigBase,
  type VigilQueues,
} from "@vigil/core";
import type { Worker } from "bullmq";
import type { RedisClient } from "@vigil/core";
import type { Connector } from "../kit/connector.js";
import { createConnectorDeps } from "../kit/connector-deps.js";
import { createConnector } from "../providers/registry.js";
import { CheckpointStore } from "./checkpoint-store.js";
import { createEventSink } from "./event-sink.js";
import { createPullRunner, type PullResult } from "./pull-runner.js";
import { QuarantineStore } from "./quarantine-store.js";
import { reconcileSchedulers } from "./schedules.js";

export interface PollWorkerOptions {
  config: Config;
  /** Shared Redis connection (from core's `createRedis`); used by BullMQ and for locks, checkpoints and ids. */
  connection: RedisClient;
  keyspace: Keyspace;
  /** From core's `openQueues`; only `events` is written (it validates every batch before adding it). */
  queues: Pick<VigilQueues, "events">;
  logger: Logger;
  metrics: Metrics;
  /** Connectors by source name, replacing the ones built from config (tests). */
  connectors?: Map<string, Connector>;
  /** Schedule polls and run the `vigil-polls` worker (default true); false leaves only `pullOnce`. */
  schedule?: boolean;
  /** Pulls run at once by this replica (default 4). */
  concurrency?: number;
  /** Lease of the per-source pull lock, renewed every third of it while pulling (default: config `connectors.lockTtl`). */
  lockTtlMs?: number;
  /** Most event ids remembered per source to drop re-reads (default 50,000); they are also forgotten after `engine.dedupFor`. */
  recentIdsLimit?: number;
}

export interface PollWorker {
  /** Pulls one source now, whether or not it is enabled; throws only for a name that is not configured. */
  pullOnce(sourceName: string): Promise<PullResult>;
  /** Aborts running pulls (their queued pages stay checkpointed), stops the worker and closes the poll queue. */
  close(): Promise<void>;
}

const DEFAULT_RECENT_IDS_LIMIT = 50_000;
const DEFAULT_CONCURRENCY = 4;

/**
 * Pulls every enabled source on its poll interval and queues its events to `vigil-events`.
 * BullMQ job schedulers on `vigil-polls` (schedules.ts) make N replicas poll once per interval, and
 * a Redis lock makes sure a source has one pull at a time (pull-runner.ts). A page's checkpoint is
 * stored only after its events are queued; recently queued ids are dropped (event-sink.ts), so
 * overlapping re-reads are harmless.
 */
export async function startPollWorker(options: PollWorkerOptions): Promise<PollWorker> {
  const { config, connection, keyspace, queues, metrics } = options;
  const logger = options.logger.child({ component: "poll-worker" });
  const deps = createConnectorDeps({ redis: connection, keyspace, logger });
  const sources = new Map(config.sources.map((source) => [source.name, source]));
  const connectors = new Map(options.connectors);
  const inFlight = new Set<Promise<PullResult>>();

  function connectorFor(source: SourceConfigBase): Connector {
    let connector = connectors.get(source.name);
    if (!connector) {
      connector = createConnector(source, deps);
      connectors.set(source.name, connector);
    }
    return connector;
  }

  const runner = createPullRunner({
    connection,
    keyspace,
    store: new CheckpointStore(connection, keyspace),
    sink: createEventSink({
      connection,
      keyspace,
      queues,
      dedupForMs: config.engine.dedupFor,
      recentIdsLimit: options.recentIdsLimit ?? DEFAULT_RECENT_IDS_LIMIT,
      maxFutureSkewMs: config.events.maxFutureSkew,
    }),
    quarantine: new QuarantineStore(connection, keyspace, { logger, metrics }),
    connectorFor,
    logger,
    metrics,
    lockTtlMs: options.lockTtlMs ?? config.connectors.lockTtl,
  });

  /** Runs a pull that close() waits for. */
  function tracked(source: SourceConfigBase): Promise<PullResult> {
    const running = runner.pull(source);
    inFlight.add(running);
    const forget = () => void inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  async function pullOnce(sourceName: string): Promise<PullResult> {
    const source = sources.get(sourceName);
    if (!source) {
      const known = [...sources.keys()].join(", ") || "none";
      throw new Error(`unknown source "${sourceName}" (configured: ${known})`);
    }
    return tracked(source);
  }

  let pollQueue: CatalogQueue<"polls"> | undefined;
  let worker: Worker<PollJob, PullResult | undefined> | undefined;
  if (options.schedule ?? true) {
    pollQueue = openQueue("polls", connection, keyspace.queuePrefix);
    await reconcileSchedulers(pollQueue, config, logger);
    worker = openWorker(
      "polls",
      async (job, { id: jobId }) => {
        const source = sources.get(job.source);
        if (!source?.enabled) {
          logger.warn({ source: job.source, jobId }, "ignoring poll of a source this replica does not have enabled");
          return undefined;
        }
        // The runner reports its own failures, so a bad source never fails the job or stops the worker.
        return tracked(source);
      },
      {
        connection,
        queuePrefix: keyspace.queuePrefix,
        concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
        logger,
      },
    );
  }

  return {
    pullOnce,
    async close() {
      runner.abortAll();
      await worker?.close();
      await Promise.allSettled(inFlight);
      await pollQueue?.close();
    },
  };
}
