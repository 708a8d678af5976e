/**
 * Helpers for the providers' tests (not exported from the package): small data sets and
 * limits high enough that only the rate-limit tests ever meet them.
 */
import { basicAuthorization } from "./http-kit.js";
import type { RateLimitSetting } from "./rate-limiter.js";

const DAY_MS = 86_400_000;

/** A limit no test reaches by accident. */
export const UNREACHABLE_LIMIT: RateLimitSetting = { requests: 1_000_000, perMs: 60_000 };

/** Seven days ending a day ago: inside every provider's default window and entirely in the past. */
export function recentSpan(): { start: Date; end: Date } {
  const end = new Date(Date.now() - DAY_MS);
  return { start: new Date(end.getTime() - 7 * DAY_MS), end };
}

export const basic = basicAuthorization;

/** Throws on duplicates, so a test can assert "no duplicate ids" with one call. */
export function assertUniqueIds(ids: readonly (string | number)[]): void {
  const seen = new Set<string | number>();
  for (const id of ids) {
    if (seen.has(id)) throw new Error(`duplicate id ${id}`);
    seen.add(id);
  }
}

/** Whether the body parses as JSON and every record in it still has all `required` fields. */
export function looksIntact(
  text: string,
  recordsOf: (body: unknown) => Record<string, unknown>[],
  required: readonly string[],
): boolean {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  return recordsOf(body).every((record) => required.every((field) => field in record));
}
