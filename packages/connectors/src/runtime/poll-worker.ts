import { createHash } from "node:crypto";
import {
  acceptEvent,
  ConnectorError,
  errorMessage,
  eventTimeMs,
  openQueue,
  openWorker,
  type AuditEvent,
  type CatalogQueue,
  type Config,
  type EventBatchJob,
  type Keyspace,
  type PollJob,
  type Logger,
  type Metrics,
  type SourceConfigBase,
  type VigilQueues,
} from "@vigil/core";
import type { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { CheckpointStore, type SourceHealth } from "./checkpoint-store.js";
import type { Checkpoint, Connector } from "../kit/connector.js";
import { createConnectorDeps } from "../kit/connector-deps.js";
import { createConnector } from "../providers/registry.js";
import { SourceLock } from "./source-lock.js";

/** What one pull did. */
export interface PullResult {
  source: string;
  /** Events queued to `vigil-events` (duplicates excluded). */
  events: number;
  /** Events dropped because their id was queued recently. */
  duplicates: number;
  /** Pages read from the connector. */
  pages: number;
  /** True when another pull of this source held the lock; nothing was read. */
  skipped: boolean;
  /** Why the pull stopped early; pages before the failure stay queued and checkpointed. */
  error?: string;
}

export interface PollWorkerOptions {
  config: Config;
  /** Shared Redis connection (from core's `createRedis`); used by BullMQ and for locks, checkpoints and ids. */
  connection: Redis;
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
  /** Lease of the per-source pull lock, renewed every third of it while pulling (default 30 s). */
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

const DEFAULT_LOCK_TTL_MS = 30_000;
const DEFAULT_RECENT_IDS_LIMIT = 50_000;
const DEFAULT_CONCURRENCY = 4;
const EVENT_JOB_NAME = "event-batch";
const POLL_JOB_NAME = "poll";

class WorkerClosingError extends Error {
  constructor() {
    super("pull stopped: the poll worker is closing");
  }
}

/**
 * Pulls every enabled source on its poll interval and queues its events to `vigil-events`.
 * BullMQ job schedulers on `vigil-polls` make N replicas poll once per interval, and a Redis lock
 * makes sure a source has one pull at a time. A page's checkpoint is stored only after its events
 * are queued; recently queued ids are dropped, so overlapping re-reads are harmless.
 */
export async function startPollWorker(options: PollWorkerOptions): Promise<PollWorker> {
  const { config, connection, keyspace, queues, metrics } = options;
  const logger = options.logger.child({ component: "poll-worker" });
  const store = new CheckpointStore(connection, keyspace);
  const deps = createConnectorDeps({ redis: connection, keyspace, logger });
  const sources = new Map(config.sources.map((source) => [source.name, source]));
  const connectors = new Map(options.connectors);
  const lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  const recentIdsLimit = options.recentIdsLimit ?? DEFAULT_RECENT_IDS_LIMIT;
  const running = new Set<AbortController>();
  const inFlight = new Set<Promise<PullResult>>();

  function connectorFor(source: SourceConfigBase): Connector {
    let connector = connectors.get(source.name);
    if (!connector) {
      connector = createConnector(source, deps);
      connectors.set(source.name, connector);
    }
    return connector;
  }

  /** Queues a page's new events in jobs of at most `batchSize`, then remembers their ids. */
  async function queuePage(
    source: SourceConfigBase,
    pageEvents: AuditEvent[],
  ): Promise<{ queued: number; duplicates: number }> {
    if (pageEvents.length === 0) return { queued: 0, duplicates: 0 };
    // Normalized first: ids, job ids and the recent-ids set all see the safe strings.
    const events = acceptedEvents(source.name, pageEvents);
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    const recentKey = keyspace.key("source", source.name, "recent-ids");
    const scores = await connection.zmscore(recentKey, ...unique.map((event) => event.id));
    const fresh = unique.filter((_, i) => scores[i] === null || scores[i] === undefined);
    const duplicates = events.length - fresh.length;
    if (fresh.length === 0) return { queued: 0, duplicates };

    const { batchSize } = source;
    const jobs: { name: string; data: EventBatchJob; opts: { jobId: string } }[] = [];
    for (let start = 0; start < fresh.length; start += batchSize) {
      const chunk = fresh.slice(start, start + batchSize);
      jobs.push({
        name: EVENT_JOB_NAME,
        data: { source: source.name, events: chunk },
        opts: { jobId: eventBatchJobId(source.name, chunk) },
      });
    }
    await queues.events.addBulk(jobs);

    // Remembered only once queued: an id marked before a crash would otherwise be dropped on the re-read.
    const nowMs = Date.now();
    const members = fresh.flatMap((event) => [nowMs, event.id]);
    await connection
      .multi()
      .zadd(recentKey, ...members)
      .zremrangebyscore(recentKey, "-inf", nowMs - config.engine.dedupFor)
      .zremrangebyrank(recentKey, 0, -(recentIdsLimit + 1))
      .pexpire(recentKey, config.engine.dedupFor)
      .exec();
    return { queued: fresh.length, duplicates };
  }

  async function pull(source: SourceConfigBase): Promise<PullResult> {
    const name = source.name;
    const lock = await SourceLock.acquire(connection, keyspace.key("source", name, "lock"), lockTtlMs);
    if (!lock) {
      logger.debug({ source: name }, "pull skipped: another pull holds the source lock");
      return { source: name, events: 0, duplicates: 0, pages: 0, skipped: true };
    }

    const controller = new AbortController();
    running.add(controller);
    const renewal = setInterval(
      () => {
        lock.renew().then(
          (held) => {
            if (!held)
              controller.abort(
                new ConnectorError(name, "lost the pull lock (another replica took over); stopping this pull"),
              );
          },
          (err: unknown) => logger.warn({ source: name, err }, "could not renew the source lock"),
        );
      },
      Math.max(1, Math.floor(lockTtlMs / 3)),
    );

    const startedMs = Date.now();
    const progress = { events: 0, duplicates: 0, pages: 0, newestMs: undefined as number | undefined };
    const newestEventTime = () =>
      progress.newestMs === undefined ? undefined : new Date(progress.newestMs).toISOString();
    try {
      const from = await store.get(name);
      for await (const page of connectorFor(source).pull(from, {
        signal: controller.signal,
        now: new Date(startedMs),
      })) {
        controller.signal.throwIfAborted();
        const { queued, duplicates } = await queuePage(source, page.events);
        await storeCheckpoint(lock, name, page.checkpoint);
        progress.pages += 1;
        progress.events += queued;
        progress.duplicates += duplicates;
        for (const event of page.events)
          progress.newestMs = Math.max(progress.newestMs ?? -Infinity, eventTimeMs(event));
      }
      const at = new Date();
      const newest = newestEventTime();
      await store.recordSuccess(name, { at, events: progress.events, ...(newest ? { newestEventTime: newest } : {}) });
      const lagSeconds = await recordSuccessMetrics(name, at, progress.events);
      logger.info(
        {
          source: name,
          events: progress.events,
          duplicates: progress.duplicates,
          pages: progress.pages,
          durationMs: Date.now() - startedMs,
          lagSeconds,
        },
        "source pulled",
      );
      return {
        source: name,
        events: progress.events,
        duplicates: progress.duplicates,
        pages: progress.pages,
        skipped: false,
      };
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      const message = errorMessage(reason);
      const newest = newestEventTime();
      if (!(reason instanceof WorkerClosingError)) {
        metrics.sourceErrors.inc({ source: name });
        await store
          .recordError(name, {
            at: new Date(),
            message,
            events: progress.events,
            ...(newest ? { newestEventTime: newest } : {}),
          })
          .catch((storeErr: unknown) =>
            logger.warn({ source: name, err: storeErr }, "could not record the source error"),
          );
      }
      if (progress.events > 0) metrics.sourceEventsPulled.inc({ source: name }, progress.events);
      const fields = {
        source: name,
        error: message,
        ...errorDetails(reason),
        events: progress.events,
        pages: progress.pages,
        durationMs: Date.now() - startedMs,
      };
      if (reason instanceof WorkerClosingError) logger.info(fields, "source pull stopped for shutdown");
      else logger.error(fields, "source pull failed");
      return {
        source: name,
        events: progress.events,
        duplicates: progress.duplicates,
        pages: progress.pages,
        skipped: false,
        error: message,
      };
    } finally {
      clearInterval(renewal);
      running.delete(controller);
      await lock
        .release()
        .catch((err: unknown) => logger.warn({ source: name, err }, "could not release the source lock"));
    }
  }

  async function storeCheckpoint(lock: SourceLock, name: string, checkpoint: Checkpoint): Promise<void> {
    const held = await lock.setWhileHeld(store.checkpointKey(name), JSON.stringify(checkpoint));
    if (!held)
      throw new ConnectorError(
        name,
        "lost the pull lock before storing the checkpoint; another pull continues from the last stored one",
      );
  }

  async function recordSuccessMetrics(name: string, at: Date, events: number): Promise<number | undefined> {
    metrics.sourceEventsPulled.inc({ source: name }, events);
    metrics.sourceLastSuccess.set({ source: name }, at.getTime() / 1000);
    const newestStored = (await store.getHealth([name])).get(name)?.newestEventTime;
    if (newestStored === undefined) return undefined;
    const lagSeconds = Math.max(0, (at.getTime() - Date.parse(newestStored)) / 1000);
    metrics.sourceLag.set({ source: name }, lagSeconds);
    return lagSeconds;
  }

  /** Runs a pull that close() waits for. */
  function tracked(source: SourceConfigBase): Promise<PullResult> {
    const running = pull(source);
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
        // pull() reports its own failures, so a bad source never fails the job or stops the worker.
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
      for (const controller of running) controller.abort(new WorkerClosingError());
      await worker?.close();
      await Promise.allSettled(inFlight);
      await pollQueue?.close();
    },
  };
}

/** Upserts a job scheduler per enabled source and removes those of sources no longer enabled. */
async function reconcileSchedulers(queue: CatalogQueue<"polls">, config: Config, logger: Logger): Promise<void> {
  const enabled = config.sources.filter((source) => source.enabled);
  for (const source of enabled) {
    await queue.upsertJobScheduler(
      source.name,
      { every: source.pollInterval },
      { name: POLL_JOB_NAME, data: { source: source.name } },
    );
  }
  const wanted = new Set(enabled.map((source) => source.name));
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    if (wanted.has(scheduler.key)) continue;
    await queue.removeJobScheduler(scheduler.key);
    logger.info({ source: scheduler.key }, "removed the poll schedule of a source that is no longer enabled");
  }
}

/** Deterministic per chunk, so re-queuing a page after a crash hits BullMQ's duplicate-id check. */
export function eventBatchJobId(source: string, events: readonly Pick<AuditEvent, "id">[]): string {
  const digest = createHash("sha1");
  for (const event of events) digest.update(event.id).update("\n");
  return `${source}-${digest.digest("hex")}`;
}

/** Every event through core's `acceptEvent` (strings made safe, limits applied), as replay and the file source do. */
function acceptedEvents(source: string, events: AuditEvent[]): AuditEvent[] {
  return events.map((event) => {
    const result = acceptEvent(event);
    if (result.ok) return result.event;
    throw new ConnectorError(
      source,
      `connector produced an invalid event ${JSON.stringify(event.id)}: ${result.reason}`,
      {
        retryable: false,
        ...(result.field === undefined ? {} : { field: result.field }),
      },
    );
  });
}

function errorDetails(err: unknown): Record<string, unknown> {
  if (!(err instanceof ConnectorError)) return {};
  const { page, field, status } = err.context as { page?: unknown; field?: unknown; status?: unknown };
  return { code: err.code, retryable: err.retryable, page, field, status };
}

/** What `vigil status` and `vigil sources list` show per configured source. */
export interface SourceStatus {
  name: string;
  type: string;
  enabled: boolean;
  pollIntervalMs: number;
  checkpoint: Checkpoint | undefined;
  /** Set when the stored checkpoint cannot be read. */
  checkpointError?: string;
  health: SourceHealth;
}

export async function getSourcesStatus(connection: Redis, keyspace: Keyspace, config: Config): Promise<SourceStatus[]> {
  const store = new CheckpointStore(connection, keyspace);
  const health = await store.getHealth(config.sources.map((source) => source.name));
  return Promise.all(
    config.sources.map(async (source): Promise<SourceStatus> => {
      const base = {
        name: source.name,
        type: source.type,
        enabled: source.enabled,
        pollIntervalMs: source.pollInterval,
        health: health.get(source.name) ?? { eventsPulled: 0 },
      };
      try {
        return { ...base, checkpoint: await store.get(source.name) };
      } catch (err) {
        return { ...base, checkpoint: undefined, checkpointError: errorMessage(err) };
      }
    }),
  );
}
