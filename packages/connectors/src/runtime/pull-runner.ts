import {
  ConnectorError,
  errorMessage,
  eventTimeMs,
  type Keyspace,
  type Logger,
  type Metrics,
  type SourceConfigBase,
} from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { Checkpoint, Connector, PullProgress, RefusedRecord } from "../kit/connector.js";
import type { CheckpointStore, PullProgressRecord } from "./checkpoint-store.js";
import type { EventSink } from "./event-sink.js";
import type { QuarantineStore } from "./quarantine-store.js";
import { SourceDelivery } from "./source-delivery.js";
import { SourceLock } from "./source-lock.js";

/** What one pull did. */
export interface PullResult {
  source: string;
  /** Events queued to `vigil-events` (duplicates excluded). */
  events: number;
  /** Events dropped because their id was queued recently. */
  duplicates: number;
  /** Records refused and newly quarantined (one already held is not counted again). */
  quarantined: number;
  /** Pages read from the connector. */
  pages: number;
  /** True when another pull of this source held the lock; nothing was read. */
  skipped: boolean;
  /** Why the pull stopped early; pages before the failure stay queued and checkpointed. */
  error?: string;
}

export interface PullRunnerOptions {
  connection: RedisClient;
  keyspace: Keyspace;
  store: CheckpointStore;
  sink: EventSink;
  /** Where refused records are kept; the pull goes on past them. */
  quarantine: QuarantineStore;
  /** The connector of a source (built once, then reused). */
  connectorFor(source: SourceConfigBase): Connector;
  logger: Logger;
  metrics: Metrics;
  /** Lease of the per-source pull lock, renewed every third of it while pulling. */
  lockTtlMs: number;
}

/** Runs one pull of one source under its lock; a page's checkpoint is stored only after its events are queued. */
export interface PullRunner {
  /** Reports its own failures in the result (and in health, metrics and logs); never throws. */
  pull(source: SourceConfigBase): Promise<PullResult>;
  /** Aborts running pulls for shutdown; their queued pages stay checkpointed. */
  abortAll(): void;
}

/** A long pull logs where it stands at most this often (every page updates `vigil status`). */
const PROGRESS_LOG_INTERVAL_MS = 10_000;

class WorkerClosingError extends Error {
  constructor() {
    super("pull stopped: the poll worker is closing");
  }
}

export function createPullRunner(options: PullRunnerOptions): PullRunner {
  const { connection, keyspace, store, sink, quarantine, connectorFor, logger, metrics, lockTtlMs } = options;
  const running = new Set<AbortController>();

  async function pull(source: SourceConfigBase): Promise<PullResult> {
    const name = source.name;
    const lock = await SourceLock.acquire(connection, keyspace.key("source", name, "lock"), lockTtlMs);
    if (!lock) {
      logger.debug({ source: name }, "pull skipped: another pull holds the source lock");
      return { source: name, events: 0, duplicates: 0, quarantined: 0, pages: 0, skipped: true };
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
    /** What the pull did so far: the counts of its result and its log lines. */
    const progress = { events: 0, duplicates: 0, quarantined: 0, pages: 0 };
    /** Where the pull stands, as its connector last said (`vigil status`, the progress log line). */
    let reported: PullProgress | undefined;
    let loggedMs = startedMs;
    const saveProgress = (state: PullProgressRecord["state"]) =>
      store
        .setProgress(name, {
          state,
          startedAt: new Date(startedMs).toISOString(),
          updatedAt: new Date().toISOString(),
          ...(reported?.window ? { window: reported.window } : {}),
          recordsRead: reported?.recordsRead ?? 0,
          eventsQueued: progress.events,
          ...(reported?.estimatedRemaining === undefined ? {} : { estimatedRemaining: reported.estimatedRemaining }),
        })
        .catch((err: unknown) => logger.warn({ source: name, err }, "could not store the pull's progress"));
    let newestMs: number | undefined;
    const newestEventTime = () => (newestMs === undefined ? undefined : new Date(newestMs).toISOString());
    try {
      const from = await store.get(name);
      const delivery = await SourceDelivery.load(connection, keyspace, name);
      const held = (stored: boolean) => {
        if (!stored) throw new ConnectorError(name, "lost the pull lock before storing the source's delivery");
      };
      for await (const page of connectorFor(source).pull(from, {
        signal: controller.signal,
        now: new Date(startedMs),
      })) {
        controller.signal.throwIfAborted();
        let marked = false;
        const { queued, duplicates, refused } = await sink.queuePage(source, page.events, {
          order: delivery.order,
          seq: delivery.nextSeq,
          // A mark without events only when the source's bound moves up.
          ...(page.watermark !== undefined && page.watermark > (delivery.bound ?? Number.NEGATIVE_INFINITY)
            ? { bound: page.watermark }
            : {}),
          reserve: async () => {
            held(await delivery.reserve(lock));
            marked = true;
          },
        });
        if (marked) held(await delivery.commit(lock, page.watermark));
        // Kept before the checkpoint moves past them: a crash in between re-reads and re-keeps them (once).
        progress.quarantined += await keepRefused(name, [...(page.refused ?? []), ...refused]);
        await storeCheckpoint(lock, name, page.checkpoint);
        progress.pages += 1;
        progress.events += queued;
        progress.duplicates += duplicates;
        for (const event of page.events) newestMs = Math.max(newestMs ?? -Infinity, eventTimeMs(event));
        if (page.progress) {
          reported = page.progress;
          await saveProgress("running");
          if (reported.estimatedRemaining !== undefined)
            metrics.sourceRecordsRemaining.set({ source: name }, reported.estimatedRemaining);
          if (Date.now() - loggedMs >= PROGRESS_LOG_INTERVAL_MS) {
            loggedMs = Date.now();
            logger.info(
              { source: name, checkpoint: page.checkpoint, ...reported, eventsQueued: progress.events },
              "source pull progress",
            );
          }
        }
      }
      const at = new Date();
      const newest = newestEventTime();
      await store.recordSuccess(name, { at, events: progress.events, ...(newest ? { newestEventTime: newest } : {}) });
      const lagSeconds = await recordSuccessMetrics(name, at, progress.events);
      if (reported) {
        reported = { ...reported, estimatedRemaining: 0 };
        metrics.sourceRecordsRemaining.set({ source: name }, 0);
        await saveProgress("done");
      }
      logger.info({ source: name, ...progress, durationMs: Date.now() - startedMs, lagSeconds }, "source pulled");
      return { source: name, ...progress, skipped: false };
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
      if (reported) await saveProgress("failed");
      const fields = {
        source: name,
        err: reason,
        ...errorDetails(reason),
        events: progress.events,
        pages: progress.pages,
        durationMs: Date.now() - startedMs,
      };
      if (reason instanceof WorkerClosingError) logger.info(fields, "source pull stopped for shutdown");
      else logger.error(fields, "source pull failed");
      return { source: name, ...progress, skipped: false, error: message };
    } finally {
      clearInterval(renewal);
      await quarantine.count(name).then(
        (held) => metrics.quarantineHeld.set({ source: name }, held),
        (err: unknown) => logger.warn({ source: name, err }, "could not count the quarantined records"),
      );
      running.delete(controller);
      await lock
        .release()
        .catch((err: unknown) => logger.warn({ source: name, err }, "could not release the source lock"));
    }
  }

  /** Quarantines a page's refused records, logs each newly kept one, and returns how many were new. */
  async function keepRefused(name: string, refused: readonly RefusedRecord[]): Promise<number> {
    let added = 0;
    for (const record of refused) {
      const entry = await quarantine.add(name, record);
      if (!entry) continue;
      added += 1;
      metrics.recordsQuarantined.inc({ source: name });
      logger.warn(
        { source: name, quarantineId: entry.id, position: entry.position, reason: entry.reason, field: entry.field },
        "record refused and quarantined; the source goes on past it (vigil sources quarantine show <id>)",
      );
    }
    return added;
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

  return {
    pull,
    abortAll() {
      for (const controller of running) controller.abort(new WorkerClosingError());
    },
  };
}

/** Where a connector failed (the `err` serializer gives type, code and message; not a ConnectorError's context). */
function errorDetails(err: unknown): Record<string, unknown> {
  if (!(err instanceof ConnectorError)) return {};
  const { page, field, status } = err.context as { page?: unknown; field?: unknown; status?: unknown };
  return { retryable: err.retryable, page, field, status };
}
