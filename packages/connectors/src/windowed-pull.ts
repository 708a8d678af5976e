import { ConnectorError, type AuditEvent } from "@vigil/core";
import { z } from "zod";
import type { Checkpoint, PullOptions, SourcePage } from "./connector.js";

/** The checkpoint of a time-windowed source: every record filtered-on before `until` is queued. */
export const WindowCheckpointSchema = z.object({ until: z.iso.datetime({ offset: true }) });
export type WindowCheckpoint = z.infer<typeof WindowCheckpointSchema>;

/** A half-open span of the provider's filter time: `start <= t < end`. */
export interface TimeWindow {
  start: Date;
  end: Date;
}

/** What a time-filtered provider connector supplies to {@link windowedPull}. */
export interface WindowedSource<R> {
  source: string;
  /** The longest span one query may cover (the provider's window limit). */
  maxWindowMs: number;
  /**
   * Every record whose filter time lies in the window, page by page, in any order. Records
   * outside it (inclusive provider bounds) may be yielded; they are dropped here by `filterTimeMs`.
   */
  fetchWindow(window: TimeWindow, signal: AbortSignal): AsyncIterable<R[]>;
  /** The time the provider filters on, in ms (usually the action time; an insert time where only that filters). */
  filterTimeMs(record: R): number;
  /** The normalized event; throws ConnectorError naming the field when the record is malformed. */
  normalize(record: R): AuditEvent;
}

export interface WindowedPullSettings {
  /** How far back the first run reaches. */
  startFromMs: number;
  /** How far each run re-reads behind its checkpoint. */
  lookbackMs: number;
  /** Records held in memory for one window before it is split in two (bounded memory on long backfills). */
  maxBufferedRecords?: number;
  /** Events per yielded page. */
  pageEvents?: number;
}

const MIN_WINDOW_MS = 1_000;

/**
 * Pulls a time-filtered provider incrementally, oldest first, whatever order it serves:
 * from the checkpoint (less `lookback`) to `now`, in windows of at most `maxWindowMs`, each
 * fetched whole, sorted by event time and id, then yielded in pages. A window holding more than
 * `maxBufferedRecords` is split, so memory stays bounded. The checkpoint moves to a window's end
 * only with its last page; records sharing a timestamp across a page boundary are never lost.
 */
export async function* windowedPull<R>(
  spec: WindowedSource<R>,
  from: Checkpoint | undefined,
  options: PullOptions,
  settings: WindowedPullSettings,
): AsyncGenerator<SourcePage> {
  const maxBuffered = settings.maxBufferedRecords ?? 20_000;
  const pageEvents = settings.pageEvents ?? 500;
  const end = options.now.getTime();
  let cursor: number;
  if (options.since) {
    cursor = options.since.getTime();
  } else if (from) {
    const parsed = WindowCheckpointSchema.safeParse(from);
    if (!parsed.success) {
      throw new ConnectorError(spec.source, `stored checkpoint is not a time checkpoint: ${JSON.stringify(from)}`, { retryable: false });
    }
    cursor = Date.parse(parsed.data.until) - settings.lookbackMs;
  } else {
    cursor = end - settings.startFromMs;
  }
  let span = spec.maxWindowMs;
  const checkpointAt = (ms: number): Checkpoint => ({ until: new Date(ms).toISOString() });

  while (cursor < end) {
    options.signal.throwIfAborted();
    const windowEnd = Math.min(cursor + span, end);
    const records: R[] = [];
    let overflow = false;
    let earliestSeen = windowEnd;
    for await (const page of spec.fetchWindow({ start: new Date(cursor), end: new Date(windowEnd) }, options.signal)) {
      for (const record of page) {
        const t = spec.filterTimeMs(record);
        if (t >= cursor && t < windowEnd) {
          records.push(record);
          if (t < earliestSeen) earliestSeen = t;
        }
      }
      if (records.length > maxBuffered && windowEnd - cursor > MIN_WINDOW_MS) {
        overflow = true;
        break;
      }
    }
    if (overflow) {
      // Too dense to hold: retry a span sized from the density seen so far, at most half this one.
      const density = records.length / Math.max(1, windowEnd - earliestSeen);
      span = Math.max(MIN_WINDOW_MS, Math.min(Math.floor((windowEnd - cursor) / 2), Math.floor((0.5 * maxBuffered) / density)));
      continue;
    }
    const events = records
      .map((record) => {
        const event = spec.normalize(record);
        return { event, ms: Date.parse(event.time) };
      })
      .sort((a, b) => a.ms - b.ms || (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0))
      .map(({ event }) => event);
    for (let i = 0; i < events.length; i += pageEvents) {
      const last = i + pageEvents >= events.length;
      yield { events: events.slice(i, i + pageEvents), checkpoint: checkpointAt(last ? windowEnd : cursor) };
    }
    if (events.length === 0 && windowEnd === end) yield { events: [], checkpoint: checkpointAt(windowEnd) };
    // Size the next window for about half the buffer at the density just seen.
    const density = records.length / Math.max(1, windowEnd - cursor);
    span = Math.max(MIN_WINDOW_MS, Math.min(spec.maxWindowMs, density > 0 ? Math.floor((0.5 * maxBuffered) / density) : span * 4));
    cursor = windowEnd;
  }
}
