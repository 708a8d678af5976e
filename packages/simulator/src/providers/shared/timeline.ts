import { type InstantPrecision, MICROS_PER_SECOND, precisionUnitUs, truncateUs } from "./instant.js";
import type { SeededRandom } from "@vigil/core";

/** `count` instants drawn uniformly from [startUs, endUs], at the provider's precision, oldest first. */
export function randomSortedTimes(
  rng: SeededRandom,
  count: number,
  startUs: number,
  endUs: number,
  precision: InstantPrecision,
): number[] {
  const span = Math.max(0, endUs - startUs);
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push(truncateUs(startUs + Math.floor(rng.next() * (span + 1)), precision));
  return times.sort((a, b) => a - b);
}

/** Every how many records a group of equal timestamps is planted (divides the default page sizes 100 and 1000, and 50). */
const TIE_GROUP_EVERY = 50;

/**
 * Gives four neighbouring records the exact same time around every `every`-th position,
 * counted from the oldest end and from the newest end, so that pages of the default sizes
 * end in the middle of a group of equal timestamps whichever way the feed is read. This is
 * what breaks connectors that resume from "the last timestamp seen" with a strict `>`.
 * `records` must be oldest first; setting a run to its first element's time keeps that order.
 */
export function plantBoundaryTies<T>(
  records: readonly T[],
  timeOf: (record: T) => number,
  withTime: (record: T, timeUs: number) => T,
  every = TIE_GROUP_EVERY,
): T[] {
  const out = [...records];
  const n = out.length;
  const groupStarts = new Set<number>();
  for (let boundary = every; boundary < n; boundary += every) {
    groupStarts.add(boundary - 2); // oldest-first pages: last two of page k, first two of page k+1
    groupStarts.add(n - boundary - 2); // newest-first pages, mirrored
  }
  for (const start of [...groupStarts].sort((a, b) => a - b)) {
    const first = out[start];
    if (start < 0 || start + 3 >= n || first === undefined) continue;
    const timeUs = timeOf(first);
    for (let i = start + 1; i <= start + 3; i++) {
      const record = out[i];
      if (record !== undefined) out[i] = withTime(record, timeUs);
    }
  }
  return out;
}

/**
 * The span to place `count` appended records in: after everything already served and, when the
 * data ends in the past, within the last minute before now. It ends one unit before now, so a
 * request made in the same millisecond, whose window ends at "now" exclusive (Ashby, Logfire),
 * already sees them. When the latest record is that recent there is no room left: the new
 * records then share its time (still after it in feed order) rather than lie in the future.
 */
export function appendSpan(
  latestUs: number | undefined,
  nowUs: number,
  count: number,
  precision: InstantPrecision,
): { startUs: number; endUs: number } {
  const unit = precisionUnitUs(precision);
  const latest = latestUs === undefined ? -Infinity : truncateUs(latestUs, precision);
  const last = truncateUs(nowUs, precision) - unit;
  const cap = Math.max(last, latest);
  const startUs = Math.min(Math.max(latest + unit, last - 60 * MICROS_PER_SECOND), cap);
  return { startUs, endUs: Math.max(startUs, Math.min(startUs + Math.max(count, 1) * MICROS_PER_SECOND, cap)) };
}

/**
 * Times for drafts that name none, in draft order: one second apart ending just before now,
 * after the latest record when there is room, otherwise squeezed up to (and sharing) its time.
 */
export function draftTimes(
  count: number,
  latestUs: number | undefined,
  nowUs: number,
  precision: InstantPrecision,
): number[] {
  const unit = precisionUnitUs(precision);
  const latest = latestUs === undefined ? -Infinity : truncateUs(latestUs, precision);
  const last = truncateUs(nowUs, precision) - unit;
  const cap = Math.max(last, latest);
  return Array.from({ length: count }, (_, i) =>
    Math.min(Math.max(latest + unit * (i + 1), last - MICROS_PER_SECOND * (count - 1 - i)), cap),
  );
}
