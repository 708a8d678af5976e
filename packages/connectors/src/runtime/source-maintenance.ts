import {
  acceptEvent,
  acceptEventLine,
  type AcceptanceClock,
  ConnectorError,
  type Config,
  type EventAcceptance,
  type EventRefusal,
  type Keyspace,
  type SourceConfigBase,
  type VigilQueues,
} from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { Checkpoint, Connector } from "../kit/connector.js";
import { CheckpointStore } from "./checkpoint-store.js";
import { createEventSink, WATERMARK_JOB_NAME, watermarkJobId } from "./event-sink.js";
import { QuarantineStore, type QuarantineEntry } from "./quarantine-store.js";
import { SourceDelivery } from "./source-delivery.js";
import { SourceLock } from "./source-lock.js";

/** Most event ids remembered per source, as the poll worker's default. */
const RECENT_IDS_LIMIT = 50_000;
const RESET_LOCK_TTL_MS = 30_000;

/** The earliest event time: a reset "from the beginning" moves the source's watermark all the way back. */
const EARLIEST_MS = -8_640_000_000_000_000;

/** What a reset needs besides the checkpoint: the way to move the source's watermark back. */
export interface WatermarkReset {
  /** Where the source's reset mark is queued (a watermark job, applied in the source's seq order). */
  queues: Pick<VigilQueues, "events">;
  /**
   * Caps the source's watermark at `atMs` at once, until mark `seq` is applied (the engine's
   * `RuleStateStore.capSource`): decisions waiting on the source then wait for what it reads again.
   */
  capWatermark(seq: number, atMs: number): Promise<void>;
}

/**
 * Moves a source's checkpoint (`vigil sources reset`): without `to`, forgets it (the next pull
 * starts as a first run); with `to`, places it where the connector reads the records of that
 * time on. Takes the source's pull lock, so no running pull writes over it. Before the
 * checkpoint moves, the source's watermark is moved back to match (capped at once, then a reset
 * mark queued in its seq order), so no pending decision is taken before the re-read data is in;
 * decisions already taken are not taken again. Events re-read that were queued within
 * `engine.dedupFor` are still dropped as duplicates.
 */
export async function resetSourceCheckpoint(
  redis: RedisClient,
  keyspace: Keyspace,
  connector: Connector,
  to: Date | undefined,
  watermark: WatermarkReset,
): Promise<Checkpoint | undefined> {
  const name = connector.source;
  const lock = await SourceLock.acquire(redis, keyspace.key("source", name, "lock"), RESET_LOCK_TTL_MS);
  if (!lock)
    throw new ConnectorError(name, "a pull of this source is running; run the reset again once it ends", {
      retryable: true,
    });
  const lost = () =>
    new ConnectorError(name, "lost the source's pull lock while resetting; run the reset again", { retryable: true });
  try {
    const store = new CheckpointStore(redis, keyspace);
    if (to !== undefined && !connector.checkpointAt)
      throw new ConnectorError(
        name,
        `a ${connector.provider} source cannot be placed at a time; \`vigil sources reset ${name}\` reads it from its start`,
        { retryable: false },
      );
    const checkpoint =
      to === undefined
        ? undefined
        : await connector.checkpointAt!(to, { signal: AbortSignal.timeout(RESET_LOCK_TTL_MS) });

    const delivery = await SourceDelivery.load(redis, keyspace, name);
    const seq = delivery.nextSeq;
    const at = to?.getTime() ?? EARLIEST_MS;
    if (!(await delivery.reserve(lock))) throw lost();
    await watermark.capWatermark(seq, at);
    await watermark.queues.events.addWithChildren(
      {
        name: WATERMARK_JOB_NAME,
        data: { source: name, mark: { seq, reset: at } },
        opts: { jobId: watermarkJobId(name, seq) },
      },
      [],
    );
    if (!(await delivery.commitReset(lock, to?.getTime()))) throw lost();

    if (checkpoint === undefined) {
      await store.reset(name);
      return undefined;
    }
    if (!(await lock.setWhileHeld(store.checkpointKey(name), JSON.stringify(checkpoint)))) throw lost();
    return checkpoint;
  } finally {
    await lock.release();
  }
}

/** What `vigil sources quarantine retry` did with one entry. */
export type QuarantineRetryOutcome =
  | { id: string; source: string; outcome: "queued" | "duplicate" }
  | { id: string; source: string; outcome: "refused" | "missing"; reason: string };

/**
 * Re-parses quarantined records with the current acceptance rule and queues each accepted one as
 * an event batch through the sources' own path (the event sink: same job ids, same dedup), then
 * forgets it. A record still refused stays, with the reason why.
 */
export async function retryQuarantined(options: {
  redis: RedisClient;
  keyspace: Keyspace;
  config: Pick<Config, "sources" | "engine" | "events">;
  queues: Pick<VigilQueues, "events">;
  ids: readonly string[] | "all";
}): Promise<QuarantineRetryOutcome[]> {
  const { redis, keyspace, config, queues } = options;
  const quarantine = new QuarantineStore(redis, keyspace);
  const sink = createEventSink({
    connection: redis,
    keyspace,
    queues,
    dedupForMs: config.engine.dedupFor,
    recentIdsLimit: RECENT_IDS_LIMIT,
    maxFutureSkewMs: config.events.maxFutureSkew,
  });
  const entries: (QuarantineEntry | string)[] =
    options.ids === "all"
      ? await quarantine.list()
      : await Promise.all(options.ids.map(async (id) => (await quarantine.get(id)) ?? id));

  const outcomes: QuarantineRetryOutcome[] = [];
  for (const entry of entries) {
    if (typeof entry === "string") {
      outcomes.push({ id: entry, source: "", outcome: "missing", reason: "no quarantined record has this id" });
      continue;
    }
    const { id, source } = entry;
    const sourceConfig: SourceConfigBase | undefined = config.sources.find((s) => s.name === source);
    if (!sourceConfig) {
      outcomes.push({ id, source, outcome: "refused", reason: `source "${source}" is not in the config` });
      continue;
    }
    const accepted = reparse(entry, { nowMs: Date.now(), maxFutureSkewMs: config.events.maxFutureSkew });
    if (!accepted.ok) {
      outcomes.push({ id, source, outcome: "refused", reason: accepted.reason });
      continue;
    }
    // Queued as the source queues a page (its lock held, its delivery order and mark seq), so the
    // engine sees it as delivered now: later than the rules' lateness, it is refused as late.
    const lock = await SourceLock.acquire(redis, keyspace.key("source", source, "lock"), RESET_LOCK_TTL_MS);
    if (!lock) {
      outcomes.push({ id, source, outcome: "refused", reason: "a pull of this source is running; retry once it ends" });
      continue;
    }
    try {
      const delivery = await SourceDelivery.load(redis, keyspace, source);
      let marked = false;
      const { queued } = await sink.queuePage(sourceConfig, [accepted.event], {
        order: delivery.order,
        seq: delivery.nextSeq,
        reserve: async () => {
          if (!(await delivery.reserve(lock)))
            throw new ConnectorError(source, "lost the source's pull lock", { retryable: true });
          marked = true;
        },
      });
      if (marked) await delivery.commit(lock, undefined);
      await quarantine.drop(id);
      outcomes.push({ id, source, outcome: queued ? "queued" : "duplicate" });
    } finally {
      await lock.release();
    }
  }
  return outcomes;
}

/** The current acceptance rule applied to a kept record. */
function reparse(entry: QuarantineEntry, clock: AcceptanceClock): EventAcceptance | EventRefusal {
  const resetHint = `fix it at the source, then \`vigil sources reset ${entry.source} --to <time>\` reads it again`;
  if (entry.truncated)
    return {
      ok: false,
      reason: `only the first ${entry.raw.length} characters of its ${entry.rawBytes} bytes were kept; ${resetHint}`,
    };
  switch (entry.format) {
    case "event-line":
      // A file source's line: read as that source reads it (its own source, its own ids).
      return acceptEventLine(entry.raw, clock, { name: entry.source });
    case "event": {
      try {
        return acceptEvent(JSON.parse(entry.raw), clock);
      } catch (err) {
        return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
      }
    }
    case "provider-record":
      return {
        ok: false,
        reason: `a provider record is normalized only while it is pulled; once the connector accepts it, \`vigil sources reset ${entry.source} --to <time>\` reads it again`,
      };
  }
}
