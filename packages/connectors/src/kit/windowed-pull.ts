import { ConnectorError, recordText, type AuditEvent } from "@vigil/core";
import { z } from "zod";
import type { Checkpoint, Connector, PullOptions, PullProgress, RefusedRecord, SourcePage } from "./connector.js";
import { ResponseTooLargeError } from "./http-client.js";
import { timeOrderedPages, type TimedEvent } from "./paging.js";

/**
 * The checkpoint of a time-windowed source: every record filtered-on before `until` is queued.
 * `windowMs`, on a source read in held windows, is the span the next window was sized to from the
 * density seen, so a pull that starts again (a restart) reads windows of that size at once rather
 * than finding the density again.
 */
export const WindowCheckpointSchema = z.object({
  until: z.iso.datetime({ offset: true }),
  windowMs: z.number().int().positive().optional(),
});
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
  config: { startFrom: number; lookback: number; windowRecords?: number | undefined },
  check: Connector["check"],
  settings: Pick<WindowedPullSettings, "windowRecords"> = {},
): Connector {
  const windowRecords = config.windowRecords ?? settings.windowRecords;
  return {
    source: spec.source,
    provider,
    pull: (from, options) =>
      windowedPull(spec, from, options, {
        startFromMs: config.startFrom,
        lookbackMs: config.lookback,
        ...(windowRecords === undefined ? {} : { windowRecords }),
      }),
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

/** What a window is meant to hold at most. */
export interface WindowBudget {
  records: number;
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
   * The provider lists a window oldest first by filter time (ties in any order). Its pages are
   * then handed on as they arrive, the checkpoint moving with each to the latest time it holds:
   * no window is held, windows are only the provider's span limit (`maxWindowMs`), and a restart
   * re-reads `lookback` and one page. Otherwise (newest first, or no documented order) each
   * window is held whole and sorted, and windows are sized to hold at most `windowRecords`.
   */
  oldestFirst?: boolean;
  /**
   * Every record whose filter time lies in the window, page by page (in any order unless
   * `oldestFirst`). Records outside it (inclusive provider bounds) may be yielded; they are
   * dropped here by `filterTimeMs`. On a held-window source the next window's first page is asked
   * for while this window's events are still being handed on; `signal` aborts when a window is
   * given up (split, or the pull stopped). `budget.records` is the most records a held window
   * should hold: an unpaged source bounds its answer's bytes by it (an answer too large fails with
   * a ResponseTooLargeError, and the window is split).
   */
  fetchWindow(window: TimeWindow, signal: AbortSignal, budget?: WindowBudget): AsyncIterable<R[] | WindowBatch<R>>;
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
  /**
   * The most records a held window holds (sources not listed oldest first): windows are sized
   * from the density seen to hold three quarters of it, and one found to hold more is given up
   * and read again as smaller ones. A restart loses at most one such window's requests, and the
   * heap holds at most one window's events. Default {@link DEFAULT_WINDOW_RECORDS}; a source's
   * `windowRecords` setting overrides it.
   */
  windowRecords?: number;
  /** Events per yielded page. */
  pageEvents?: number;
}

/**
 * The default bound of a held window, in records (providers set their own: Ashby 1,000, Pylon
 * 2,000, BloodHound 20,000, each about five seconds of reading at the documented rate; Logfire
 * takes this one, a single request): a few MiB of events.
 */
export const DEFAULT_WINDOW_RECORDS = 5_000;

const MIN_WINDOW_MS = 1_000;
/**
 * Share of `windowRecords` the next window is sized for, at the density just seen. Every
 * window costs a last, partly filled page, so larger windows mean fewer requests; a denser
 * window than expected is split, and a newest-first source shows it within a few pages.
 */
const WINDOW_FILL = 0.75;
/** A window whose unpaged answer passed its byte budget is retried this many times shorter. */
const TOO_LARGE_SHRINK = 8;
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
function startWindowFetch<R>(
  spec: WindowedSource<R>,
  start: number,
  end: number,
  signal: AbortSignal,
  budget: WindowBudget,
): WindowFetch<R> {
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  signal.addEventListener("abort", forward, { once: true });
  const iterator = spec
    .fetchWindow({ start: new Date(start), end: new Date(end) }, controller.signal, budget)
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

/** Where a pull starts: the time it reads from, and the window span a checkpoint carried. */
function startingPoint(
  spec: { source: string },
  from: Checkpoint | undefined,
  options: PullOptions,
  settings: WindowedPullSettings,
): { cursor: number; windowMs?: number } {
  if (options.since) return { cursor: options.since.getTime() };
  if (!from) return { cursor: options.now.getTime() - settings.startFromMs };
  const parsed = WindowCheckpointSchema.safeParse(from);
  if (!parsed.success) {
    throw new ConnectorError(
      spec.source,
      `stored checkpoint is not a time checkpoint: ${JSON.stringify(from)}; start again with \`vigil sources reset ${spec.source}\``,
      { retryable: false },
    );
  }
  const cursor = Date.parse(parsed.data.until) - settings.lookbackMs;
  return parsed.data.windowMs === undefined ? { cursor } : { cursor, windowMs: parsed.data.windowMs };
}

/**
 * Counts what a pull read and estimates what is left from the density seen: records read per
 * millisecond of filter time covered since the pull's start, times the span still to read.
 */
class ProgressTracker {
  private records = 0;
  constructor(
    private readonly startMs: number,
    private readonly endMs: number,
  ) {}

  add(records: number): void {
    this.records += records;
  }

  /** The progress once everything before `position` is read, inside `window`. */
  at(position: number, window: { start: number; end: number }): PullProgress {
    const covered = position - this.startMs;
    return {
      window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() },
      recordsRead: this.records,
      ...(covered > 0
        ? { estimatedRemaining: Math.round((this.records / covered) * Math.max(0, this.endMs - position)) }
        : {}),
    };
  }
}

/**
 * Pulls a time-filtered provider incrementally, oldest first, whatever order it serves, from the
 * checkpoint (less `lookback`) to `now`:
 * - a source listed oldest first (`spec.oldestFirst`) is read page by page, each page handed on
 *   as it arrives with the checkpoint at its latest time, in windows only as long as the
 *   provider allows;
 * - any other is read in windows each fetched whole, sorted by event time and id, then yielded in
 *   pages, the checkpoint moving to a window's end only with its last page. Windows are sized
 *   from the density seen to hold at most `windowRecords` (one holding more is split), so memory
 *   stays bounded and a restart loses at most one window; the checkpoint carries the size, so a
 *   restarted pull goes on with it. The next window's first page is requested before the current
 *   window is sorted and yielded.
 * Records are normalized as their page arrives; records sharing a timestamp across a page
 * boundary are never lost. Every page says how far the pull got (`progress`).
 */
export async function* windowedPull<R>(
  spec: WindowedSource<R>,
  from: Checkpoint | undefined,
  options: PullOptions,
  settings: WindowedPullSettings,
): AsyncGenerator<SourcePage> {
  const end = options.now.getTime();
  const start = startingPoint(spec, from, options, settings);
  const tracker = new ProgressTracker(start.cursor, end);
  // The next run re-reads from the checkpoint less the lookback: nothing older is ever read again.
  const watermarkAt = (ms: number) => (options.since ? {} : { watermark: ms - settings.lookbackMs });
  if (spec.oldestFirst) yield* pageByPage(spec, start.cursor, end, options, settings, tracker, watermarkAt);
  else yield* heldWindows(spec, start, end, options, settings, tracker, watermarkAt);
}

type WatermarkAt = (ms: number) => { watermark?: number };

/** Normalizes the records of `[start, end)`, refusing malformed ones; returns the events and the latest filter time kept. */
function keepInWindow<R>(
  spec: WindowedSource<R>,
  records: readonly R[],
  start: number,
  end: number,
  into: { held: TimedEvent[]; refused: RefusedRecord[] },
): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const record of records) {
    const t = spec.filterTimeMs(record);
    if (t < start || t >= end) continue;
    let event: AuditEvent;
    try {
      event = spec.normalize(record);
    } catch (err) {
      if (!(err instanceof ConnectorError)) throw err;
      into.refused.push(refusal(spec, record, err, start, end));
      continue;
    }
    into.held.push({ event, ms: Date.parse(event.time) });
    if (t > latest) latest = t;
  }
  return latest;
}

/** The pull of a source listed oldest first: each page yielded as it arrives, the checkpoint with it. */
async function* pageByPage<R>(
  spec: WindowedSource<R>,
  from: number,
  end: number,
  options: PullOptions,
  settings: WindowedPullSettings,
  tracker: ProgressTracker,
  watermarkAt: WatermarkAt,
): AsyncGenerator<SourcePage> {
  const pageEvents = settings.pageEvents ?? 500;
  let cursor = from;
  while (cursor < end) {
    options.signal.throwIfAborted();
    const window = { start: cursor, end: Math.min(cursor + spec.maxWindowMs, end) };
    // Everything before `position` is handed on: the listing is oldest first.
    let position = cursor;
    for await (const page of spec.fetchWindow(
      { start: new Date(window.start), end: new Date(window.end) },
      options.signal,
      // Nothing is held: the budget only bounds an unpaged answer (none lists oldest first today).
      { records: settings.windowRecords ?? DEFAULT_WINDOW_RECORDS },
    )) {
      const batch = Array.isArray(page) ? { records: page, refused: [] } : page;
      const kept = { held: [] as TimedEvent[], refused: [...batch.refused] };
      const latest = Math.max(position, keepInWindow(spec, batch.records, window.start, window.end, kept));
      if (kept.held.length === 0 && kept.refused.length === 0) continue;
      tracker.add(kept.held.length + kept.refused.length);
      const pages = timeOrderedPages(kept.held, pageEvents);
      if (pages.length === 0) pages.push([]);
      for (const [i, events] of pages.entries()) {
        const last = i === pages.length - 1;
        const at = last ? latest : position;
        yield {
          events,
          checkpoint: { until: new Date(at).toISOString() },
          ...watermarkAt(at),
          ...(last && kept.refused.length ? { refused: kept.refused } : {}),
          progress: tracker.at(at, window),
        };
      }
      position = latest;
    }
    // The window is read to its end, with or without records: the checkpoint (and watermark) moves there.
    yield {
      events: [],
      checkpoint: { until: new Date(window.end).toISOString() },
      ...watermarkAt(window.end),
      progress: tracker.at(window.end, window),
    };
    cursor = window.end;
  }
}

/** The pull of a source not listed oldest first: windows held whole, bounded by `windowRecords`. */
async function* heldWindows<R>(
  spec: WindowedSource<R>,
  start: { cursor: number; windowMs?: number },
  end: number,
  options: PullOptions,
  settings: WindowedPullSettings,
  tracker: ProgressTracker,
  watermarkAt: WatermarkAt,
): AsyncGenerator<SourcePage> {
  const maxBuffered = settings.windowRecords ?? DEFAULT_WINDOW_RECORDS;
  const budget = { records: maxBuffered };
  const pageEvents = settings.pageEvents ?? 500;
  let cursor = start.cursor;
  let span = Math.min(start.windowMs ?? spec.firstWindowMs ?? spec.maxWindowMs, spec.maxWindowMs);
  const checkpointAt = (ms: number, windowMs: number): Checkpoint => ({
    until: new Date(ms).toISOString(),
    windowMs,
  });
  let ahead: WindowFetch<R> | undefined;
  // The densest stretch a split found (records per ms): no later window is sized past what it
  // would hold at that density, so quiet windows before or between busy ones do not grow back
  // into windows that split again.
  let densest = 0;

  try {
    while (cursor < end) {
      options.signal.throwIfAborted();
      const windowEnd = Math.min(cursor + span, end);
      let fetch: WindowFetch<R>;
      if (ahead && ahead.start === cursor && ahead.end === windowEnd) {
        fetch = ahead;
      } else {
        await ahead?.cancel();
        fetch = startWindowFetch(spec, cursor, windowEnd, options.signal, budget);
      }
      ahead = undefined;

      const kept = { held: [] as TimedEvent[], refused: [] as RefusedRecord[] };
      const { held, refused } = kept;
      let overflow = false;
      let earliestSeen = windowEnd;
      try {
        for (let page = await fetch.next(); !page.done; page = await fetch.next()) {
          const batch = Array.isArray(page.value) ? { records: page.value, refused: [] } : page.value;
          refused.push(...batch.refused);
          keepInWindow(spec, batch.records, cursor, windowEnd, kept);
          earliestSeen = Math.min(earliestSeen, earliestOf(spec, batch.records, cursor, windowEnd));
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
        // An unpaged answer too large for the window's budget (Logfire's): far denser than
        // expected, so a much shorter window is tried (sized again from its density once read).
        if (!(err instanceof ResponseTooLargeError) || windowEnd - cursor <= MIN_WINDOW_MS) throw err;
        span = Math.max(MIN_WINDOW_MS, Math.floor((windowEnd - cursor) / TOO_LARGE_SHRINK));
        continue;
      }
      if (overflow) {
        await fetch.cancel();
        // Too dense to hold: retry a span sized from the density seen so far, at most half this one.
        const density = held.length / Math.max(1, windowEnd - earliestSeen);
        densest = Math.max(densest, density);
        span = Math.max(
          MIN_WINDOW_MS,
          Math.min(Math.floor((windowEnd - cursor) / 2), Math.floor((SPLIT_FILL * maxBuffered) / density)),
        );
        continue;
      }
      tracker.add(held.length + refused.length);
      const window = { start: cursor, end: windowEnd };
      const windowSpan = windowEnd - cursor;
      // Size the next window for most of the buffer at the density just seen, and ask for its
      // first page now, while this one is sorted and yielded. With rows enough to go by, the
      // density is that of the span they cover: a window whose first part is empty (before the
      // source's first row) must not make the next one look sparse.
      const covered = held.length >= maxBuffered / 32 ? windowEnd - earliestSeen : windowEnd - cursor;
      // An empty window counts as one record: the next is sized as if that one were about to show.
      const density = Math.max(1, held.length) / Math.max(1, covered);
      span = Math.max(
        MIN_WINDOW_MS,
        Math.min(spec.maxWindowMs, Math.floor((WINDOW_FILL * maxBuffered) / Math.max(density, densest))),
      );
      if (windowEnd < end)
        ahead = startWindowFetch(spec, windowEnd, Math.min(windowEnd + span, end), options.signal, budget);

      const pages = timeOrderedPages(held, pageEvents);
      if (pages.length === 0 && (windowEnd === end || refused.length)) pages.push([]);
      for (const [i, events] of pages.entries()) {
        const last = i === pages.length - 1;
        // Until its last page, a window's pages leave the checkpoint at its start (and its own size).
        const checkpoint = last ? checkpointAt(windowEnd, span) : checkpointAt(cursor, windowSpan);
        const at = last ? windowEnd : cursor;
        yield {
          events,
          checkpoint,
          ...watermarkAt(at),
          ...(last && refused.length ? { refused } : {}),
          progress: tracker.at(at, window),
        };
      }
      cursor = windowEnd;
    }
  } finally {
    await ahead?.cancel();
  }
}

/** The earliest filter time among the records inside `[start, end)` (`end` when none is). */
function earliestOf<R>(spec: WindowedSource<R>, records: readonly R[], start: number, end: number): number {
  let earliest = end;
  for (const record of records) {
    const t = spec.filterTimeMs(record);
    if (t >= start && t < earliest) earliest = t;
  }
  return earliest;
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
