import { ConnectorError, recordText, type AuditEvent } from "@vigil/core";
import { z } from "zod";
import type { Checkpoint, Connector, PullOptions, RefusedRecord, SourcePage } from "./connector.js";
import { timeOrderedPages, type TimedEvent } from "./paging.js";

/** The checkpoint of a time-windowed source: every record filtered-on before `until` is queued. */
export const WindowCheckpointSchema = z.object({ until: z.iso.datetime({ offset: true }) });
export type WindowCheckpoint = z.infer<typeof WindowCheckpointSchema>;

/** The checkpoint from which a windowed pull reads the records of `time` on (it re-reads `lookbackMs` behind `until`). */
export async function windowCheckpointAt(time: Date, lookbackMs: number): Promise<WindowCheckpoint> {
  return { until: new Date(time.getTime() + lookbackMs).toISOString() };
}

/**
 * A connector over a time-windowed source: pulls through {@link windowedPull} from the source's
 * `startFrom` and `lookback`, is placed at a time by its `{until}` checkpoint, and proves itself
 * with the provider's own cheap request.
 */
export function windowedConnector<R>(
  provider: string,
  spec: WindowedSource<R>,
  config: { startFrom: number; lookback: number },
  check: Connector["check"],
  settings: Pick<WindowedPullSettings, "maxBufferedRecords"> = {},
): Connector {
  return {
    source: spec.source,
    provider,
    pull: (from, options) =>
      windowedPull(spec, from, options, { startFromMs: config.startFrom, lookbackMs: config.lookback, ...settings }),
    checkpointAt: (time) => windowCheckpointAt(time, config.lookback),
    check,
  };
}

/** Records of a window page, with the ones the connector refused per record (quarantined, the pull goes on). */
export interface WindowBatch<R> {
  records: R[];
  refused: RefusedRecord[];
}

/** A half-open span of the provider's filter time: `start <= t < end`. */
export interface TimeWindow {
  start: Date;
  end: Date;
}

/** What a time-filtered provider connector supplies to {@link windowedPull}. */
export interface WindowedSource<R> {
  source: string;
  /** The longest span one query may cover: the provider's window limit, or a cap of ours where it has none. */
  maxWindowMs: number;
  /**
   * The first window's span, before anything is known of the records' density (default
   * `maxWindowMs`). Later windows are sized from the density seen, up to `maxWindowMs`, so a sparse
   * backfill takes a few wide windows and a dense one as many as its records need.
   */
  firstWindowMs?: number;
  /**
   * Every record whose filter time lies in the window, page by page, in any order. Records
   * outside it (inclusive provider bounds) may be yielded; they are dropped here by `filterTimeMs`.
   * The next window's first page is asked for while this window's events are still being
   * handed on; `signal` aborts when a window is given up (split, or the pull stopped).
   */
  fetchWindow(window: TimeWindow, signal: AbortSignal): AsyncIterable<R[] | WindowBatch<R>>;
  /** The time the provider filters on, in ms (usually the action time; an insert time where only that filters). */
  filterTimeMs(record: R): number;
  /**
   * The normalized event; throws ConnectorError naming the field when the record is malformed.
   * Such a record is refused (quarantined with the window and the reason) and the pull goes on.
   */
  normalize(record: R): AuditEvent;
  /** The record as the provider sent it, kept when it is refused (default: the record itself). */
  received?(record: R): unknown;
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
 * Share of `maxBufferedRecords` the next window is sized for, at the density just seen. Every
 * window costs a last, partly filled page, so larger windows mean fewer requests; a denser
 * window than expected is split, and a newest-first source shows it within a few pages.
 */
const WINDOW_FILL = 0.75;
/** After a split, the retry is sized more cautiously, from the densest part seen. */
const SPLIT_FILL = 0.5;

/** A window whose fetch has begun: its first page is requested at once, consumed later. */
interface WindowFetch<R> {
  start: number;
  end: number;
  next(): Promise<IteratorResult<R[] | WindowBatch<R>>>;
  /** Stops the fetch early: aborts what is in flight and finishes the source's iterator. */
  cancel(): Promise<void>;
}

/**
 * Starts fetching a window. The first page is asked for right away, so the next window's first
 * request can travel while the current one is sorted and yielded; its outcome, error included,
 * is only observed when the pull reaches that window.
 */
function startWindowFetch<R>(spec: WindowedSource<R>, start: number, end: number, signal: AbortSignal): WindowFetch<R> {
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  signal.addEventListener("abort", forward, { once: true });
  const iterator = spec
    .fetchWindow({ start: new Date(start), end: new Date(end) }, controller.signal)
    [Symbol.asyncIterator]();
  let first: Promise<IteratorResult<R[] | WindowBatch<R>>> | undefined = iterator.next();
  // Observed by the first next(); until then a failure must not count as unhandled.
  first.catch(() => undefined);
  let finished = false;
  const settle = <T>(result: Promise<IteratorResult<T>>) =>
    result.then(
      (r) => {
        if (r.done) finished = true;
        return r;
      },
      (err: unknown) => {
        finished = true;
        throw err;
      },
    );
  return {
    start,
    end,
    next() {
      const result = first ?? iterator.next();
      first = undefined;
      return settle(result).finally(() => {
        if (finished) signal.removeEventListener("abort", forward);
      });
    },
    async cancel() {
      signal.removeEventListener("abort", forward);
      if (finished) return;
      finished = true;
      controller.abort(new Error("window fetch cancelled"));
      await first?.catch(() => undefined);
      await iterator.return?.(undefined).catch(() => undefined);
    },
  };
}

/**
 * Pulls a time-filtered provider incrementally, oldest first, whatever order it serves:
 * from the checkpoint (less `lookback`) to `now`, in windows of at most `maxWindowMs`, each
 * fetched whole, sorted by event time and id, then yielded in pages. A window holding more than
 * `maxBufferedRecords` is split, so memory stays bounded; records are normalized as their page
 * arrives (the window holds events, not records). The checkpoint moves to a window's end only
 * with its last page; records sharing a timestamp across a page boundary are never lost. The
 * next window's first page is requested before the current window is sorted and yielded.
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
      throw new ConnectorError(
        spec.source,
        `stored checkpoint is not a time checkpoint: ${JSON.stringify(from)}; start again with \`vigil sources reset ${spec.source}\``,
        {
          retryable: false,
        },
      );
    }
    cursor = Date.parse(parsed.data.until) - settings.lookbackMs;
  } else {
    cursor = end - settings.startFromMs;
  }
  let span = Math.min(spec.firstWindowMs ?? spec.maxWindowMs, spec.maxWindowMs);
  const checkpointAt = (ms: number): Checkpoint => ({ until: new Date(ms).toISOString() });
  // The next run re-reads from the checkpoint less the lookback: nothing older is ever read again.
  const watermarkAt = (ms: number) => (options.since ? {} : { watermark: ms - settings.lookbackMs });
  let ahead: WindowFetch<R> | undefined;

  try {
    while (cursor < end) {
      options.signal.throwIfAborted();
      const windowEnd = Math.min(cursor + span, end);
      let fetch: WindowFetch<R>;
      if (ahead && ahead.start === cursor && ahead.end === windowEnd) {
        fetch = ahead;
      } else {
        await ahead?.cancel();
        fetch = startWindowFetch(spec, cursor, windowEnd, options.signal);
      }
      ahead = undefined;

      const held: TimedEvent[] = [];
      const refused: RefusedRecord[] = [];
      let overflow = false;
      let earliestSeen = windowEnd;
      try {
        for (let page = await fetch.next(); !page.done; page = await fetch.next()) {
          const batch = Array.isArray(page.value) ? { records: page.value, refused: [] } : page.value;
          refused.push(...batch.refused);
          for (const record of batch.records) {
            const t = spec.filterTimeMs(record);
            if (t >= cursor && t < windowEnd) {
              let event: AuditEvent;
              try {
                event = spec.normalize(record);
              } catch (err) {
                if (!(err instanceof ConnectorError)) throw err;
                refused.push(refusal(spec, record, err, cursor, windowEnd));
                continue;
              }
              held.push({ event, ms: Date.parse(event.time) });
              if (t < earliestSeen) earliestSeen = t;
            }
          }
          if (
            windowEnd - cursor > MIN_WINDOW_MS &&
            (held.length > maxBuffered || projectedOverflow(held.length, maxBuffered, cursor, earliestSeen, windowEnd))
          ) {
            overflow = true;
            break;
          }
        }
      } catch (err) {
        await fetch.cancel();
        throw err;
      }
      if (overflow) {
        await fetch.cancel();
        // Too dense to hold: retry a span sized from the density seen so far, at most half this one.
        const density = held.length / Math.max(1, windowEnd - earliestSeen);
        span = Math.max(
          MIN_WINDOW_MS,
          Math.min(Math.floor((windowEnd - cursor) / 2), Math.floor((SPLIT_FILL * maxBuffered) / density)),
        );
        continue;
      }
      // Size the next window for most of the buffer at the density just seen, and ask for its
      // first page now, while this one is sorted and yielded. With rows enough to go by, the
      // density is that of the span they cover: a window whose first part is empty (before the
      // source's first row) must not make the next one look sparse.
      const covered = held.length >= maxBuffered / 32 ? windowEnd - earliestSeen : windowEnd - cursor;
      const density = held.length / Math.max(1, covered);
      span = Math.max(
        MIN_WINDOW_MS,
        Math.min(spec.maxWindowMs, density > 0 ? Math.floor((WINDOW_FILL * maxBuffered) / density) : span * 4),
      );
      if (windowEnd < end) ahead = startWindowFetch(spec, windowEnd, Math.min(windowEnd + span, end), options.signal);

      const pages = timeOrderedPages(held, pageEvents);
      for (const [i, events] of pages.entries()) {
        const last = i === pages.length - 1;
        const at = last ? windowEnd : cursor;
        yield {
          events,
          checkpoint: checkpointAt(at),
          ...watermarkAt(at),
          ...(last && refused.length ? { refused } : {}),
        };
      }
      if (held.length === 0 && (windowEnd === end || refused.length))
        yield {
          events: [],
          checkpoint: checkpointAt(windowEnd),
          ...watermarkAt(windowEnd),
          ...(refused.length ? { refused } : {}),
        };
      cursor = windowEnd;
    }
  } finally {
    await ahead?.cancel();
  }
}

/** A record `normalize` refused, as the quarantine keeps it. */
function refusal<R>(
  spec: WindowedSource<R>,
  record: R,
  err: ConnectorError,
  start: number,
  end: number,
): RefusedRecord {
  const { field } = err.context as { field?: unknown };
  const position = `${spec.source} window [${new Date(start).toISOString()}, ${new Date(end).toISOString()})`;
  return {
    position,
    reason: err.message,
    ...(typeof field === "string" ? { field } : {}),
    raw: recordText(spec.received ? spec.received(record) : record),
    format: "provider-record",
  };
}

/**
 * Whether the window will not fit, extrapolating from the span read so far,
 * `[earliestSeen, windowEnd)`: a newest-first source shows it after a few pages rather than once
 * the buffer is full (the reads up to then are wasted). For any other order the earliest record
 * seen is soon near the window's start, so the estimate is about `held` and changes nothing.
 * A thirty-second of the buffer must be in hand first, so a handful of rows near the end does not
 * split the window. A split found this way costs a few pages; one found when the buffer is full
 * costs the whole buffer's worth of requests.
 */
function projectedOverflow(
  held: number,
  maxBuffered: number,
  start: number,
  earliestSeen: number,
  end: number,
): boolean {
  if (held < maxBuffered / 32) return false;
  return (held * (end - start)) / Math.max(1, end - earliestSeen) > maxBuffered;
}
