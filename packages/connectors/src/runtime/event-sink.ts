import { createHash } from "node:crypto";
import {
  acceptEvent,
  type AcceptanceClock,
  type AuditEvent,
  type DeliveryOrder,
  type EventBatchJob,
  type Keyspace,
  MAX_EVENT_BATCH_BYTES,
  type SourceConfigBase,
  recordText,
  type VigilQueues,
} from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { RefusedRecord } from "../kit/connector.js";

const EVENT_JOB_NAME = "event-batch";
export const WATERMARK_JOB_NAME = "watermark";

export interface EventSinkOptions {
  connection: RedisClient;
  keyspace: Keyspace;
  /** Only `events` is written (the catalog queue validates every batch before adding it). */
  queues: Pick<VigilQueues, "events">;
  /** How long a queued id is remembered (the engine's `dedupFor`). */
  dedupForMs: number;
  /** Most event ids remembered per source. */
  recentIdsLimit: number;
  /** Events dated further than this after the wall clock are refused (config `events.maxFutureSkew`). */
  maxFutureSkewMs: number;
}

/** What queuing one page did. */
interface QueuedPage {
  /** Events queued to `vigil-events`. */
  queued: number;
  /** Events dropped: repeated in the page or queued recently. */
  duplicates: number;
  /** Events core's `acceptEvent` refused, to be quarantined. */
  refused: RefusedRecord[];
}

/** Where a page's events stand in their source's delivery, and what marks it (see SourceDelivery). */
interface PageDelivery {
  /** The source's delivery order: each fresh event's lag is measured against it, then recorded in it. */
  order: DeliveryOrder;
  /** The seq of the page's watermark mark. */
  seq: number;
  /** Called once the page has fresh events (or a bound), before its flow is queued (reserves `seq`). */
  reserve(): Promise<void>;
  /** The source's watermark bound once the page is queued, when it moved up: marked even without events. */
  bound?: number;
}

/** Turns pulled events into batch jobs on `vigil-events`: accepted, deduplicated, in deterministic jobs. */
export interface EventSink {
  /**
   * Queues a page's new events in jobs of at most the source's `batchSize` and
   * {@link MAX_EVENT_BATCH_BYTES} of JSON, each event's lag in the
   * source's order with it, as the children of one watermark job (a flow: it runs once they are all
   * processed, and carries the source's mark `seq`); then remembers their ids.
   */
  queuePage(source: SourceConfigBase, pageEvents: AuditEvent[], delivery: PageDelivery): Promise<QueuedPage>;
}

export function createEventSink(options: EventSinkOptions): EventSink {
  const { connection, keyspace, queues, dedupForMs, recentIdsLimit, maxFutureSkewMs } = options;
  return {
    async queuePage(source, pageEvents, delivery) {
      /** The page's watermark job, parent of its batches: the source's mark `seq`. */
      const queueMark = async (jobs: { name: string; data: EventBatchJob; opts: { jobId: string } }[]) => {
        await delivery.reserve();
        const delivered = delivery.order.newestOf(source.name);
        const mark = {
          seq: delivery.seq,
          ...(delivered === undefined ? {} : { delivered }),
          ...(delivery.bound === undefined ? {} : { bound: delivery.bound }),
        };
        await queues.events.addWithChildren(
          {
            name: WATERMARK_JOB_NAME,
            data: { source: source.name, mark },
            opts: { jobId: watermarkJobId(source.name, delivery.seq) },
          },
          jobs,
        );
      };
      // No new events: a mark alone when the source's bound moved up (silence rules wait for it).
      const nothingNew = async (duplicates: number, refused: RefusedRecord[]) => {
        if (delivery.bound !== undefined) await queueMark([]);
        return { queued: 0, duplicates, refused };
      };
      if (pageEvents.length === 0) return nothingNew(0, []);
      // Normalized first: ids, job ids and the recent-ids set all see the safe strings.
      const { events, refused } = acceptedEvents(pageEvents, { nowMs: Date.now(), maxFutureSkewMs });
      if (events.length === 0) return nothingNew(0, refused);
      const unique = [...new Map(events.map((event) => [event.id, event])).values()];
      const recentKey = keyspace.key("source", source.name, "recent-ids");
      const scores = await connection.zmscore(recentKey, ...unique.map((event) => event.id));
      const fresh = unique.filter((_, i) => scores[i] === null || scores[i] === undefined);
      const duplicates = events.length - fresh.length;
      if (fresh.length === 0) return nothingNew(duplicates, refused);

      const lags = delivery.order.lags(fresh) ?? {};
      const jobs: { name: string; data: EventBatchJob; opts: { jobId: string } }[] = [];
      for (const chunk of batchesOf(fresh, source.batchSize, MAX_EVENT_BATCH_BYTES)) {
        const chunkLags = Object.fromEntries(chunk.filter((e) => lags[e.id]).map((e) => [e.id, lags[e.id]!]));
        jobs.push({
          name: EVENT_JOB_NAME,
          data: { source: source.name, events: chunk, ...(Object.keys(chunkLags).length ? { lags: chunkLags } : {}) },
          opts: { jobId: eventBatchJobId(source.name, chunk) },
        });
      }
      await queueMark(jobs);

      // Remembered only once queued: an id marked before a crash would otherwise be dropped on the re-read.
      const nowMs = Date.now();
      const members = fresh.flatMap((event) => [nowMs, event.id]);
      await connection
        .multi()
        .zadd(recentKey, ...members)
        .zremrangebyscore(recentKey, "-inf", nowMs - dedupForMs)
        .zremrangebyrank(recentKey, 0, -(recentIdsLimit + 1))
        .pexpire(recentKey, dedupForMs)
        .exec();
      return { queued: fresh.length, duplicates, refused };
    },
  };
}

/**
 * The events in order, in batches of at most `maxEvents` events and `maxBytes` bytes of JSON (an
 * event larger than `maxBytes` alone would go in a batch of its own; `EVENT_LIMITS` keeps every
 * event far below {@link MAX_EVENT_BATCH_BYTES}).
 */
function batchesOf(events: readonly AuditEvent[], maxEvents: number, maxBytes: number): AuditEvent[][] {
  const batches: AuditEvent[][] = [];
  let batch: AuditEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event), "utf8");
    if (batch.length > 0 && (batch.length >= maxEvents || bytes + size > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** A source's mark `seq`: the same when a step that died is queued again, so its flow is the same. */
export function watermarkJobId(source: string, seq: number): string {
  return `${source}-watermark-${seq}`;
}

/**
 * Deterministic per chunk, so re-queuing a page after a crash hits BullMQ's duplicate-id check.
 * The hash is of the ids' JSON array, an encoding no other list of ids shares (ids may hold any
 * character, newlines included).
 */
export function eventBatchJobId(source: string, events: readonly Pick<AuditEvent, "id">[]): string {
  const digest = createHash("sha256").update(JSON.stringify(events.map((event) => event.id)));
  return `${source}-${digest.digest("hex")}`;
}

/**
 * Every event through core's `acceptEvent` (strings made safe, limits applied, nothing dated past
 * the clock's skew), as replay and the file source do; the refused are set apart.
 */
function acceptedEvents(
  pageEvents: AuditEvent[],
  clock: AcceptanceClock,
): { events: AuditEvent[]; refused: RefusedRecord[] } {
  const events: AuditEvent[] = [];
  const refused: RefusedRecord[] = [];
  for (const event of pageEvents) {
    const result = acceptEvent(event, clock);
    if (result.ok) {
      events.push(result.event);
      continue;
    }
    const raw = recordText(event);
    refused.push({
      position: `event ${JSON.stringify(String(event.id).slice(0, 200))}`,
      reason: result.reason,
      ...(result.field === undefined ? {} : { field: result.field }),
      raw,
      format: "event",
    });
  }
  return { events, refused };
}
