/**
 * Instants as integer microseconds since the epoch. Providers write their timestamps at
 * different precisions (Zendesk and Pylon seconds, Ashby milliseconds, Logfire and
 * BloodHound microseconds), and the store must order and compare them exactly, which a
 * millisecond `Date` cannot do.
 */

export const MICROS_PER_MS = 1_000;
export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND;
export const MICROS_PER_HOUR = 60 * MICROS_PER_MINUTE;
export const MICROS_PER_DAY = 24 * MICROS_PER_HOUR;

/**
 * How a provider writes instants:
 * - `s`: `2025-03-04T17:22:09Z`
 * - `ms`: `2025-03-04T17:22:09.512Z` (JavaScript `toISOString`)
 * - `us-python`: six fraction digits, none at all when the microseconds are 0 (pydantic)
 * - `us-go`: RFC 3339 with up to six digits, trailing zeros trimmed (Go `RFC3339Nano`)
 */
export type InstantPrecision = "s" | "ms" | "us-python" | "us-go";

export function precisionUnitUs(precision: InstantPrecision): number {
  if (precision === "s") return MICROS_PER_SECOND;
  if (precision === "ms") return MICROS_PER_MS;
  return 1;
}

/** Drops what the precision cannot represent. */
export function truncateUs(us: number, precision: InstantPrecision): number {
  const unit = precisionUnitUs(precision);
  return Math.floor(us / unit) * unit;
}

export function formatInstant(us: number, precision: InstantPrecision): string {
  const ms = Math.floor(us / MICROS_PER_MS);
  const base = new Date(ms).toISOString().slice(0, 19);
  const micros = ((us % MICROS_PER_SECOND) + MICROS_PER_SECOND) % MICROS_PER_SECOND;
  const fraction6 = String(micros).padStart(6, "0");
  switch (precision) {
    case "s":
      return `${base}Z`;
    case "ms":
      return `${base}.${fraction6.slice(0, 3)}Z`;
    case "us-python":
      return micros === 0 ? `${base}Z` : `${base}.${fraction6}Z`;
    case "us-go": {
      const trimmed = fraction6.replace(/0+$/, "");
      return trimmed === "" ? `${base}Z` : `${base}.${trimmed}Z`;
    }
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const LENIENT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** Parses a strict RFC 3339 timestamp (offset required); fractions beyond microseconds are truncated. */
export function parseRfc3339Us(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  return toMicros(m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
}

/**
 * Parses ISO 8601 the way lenient servers do: date only, minutes without seconds, and a
 * missing offset (read as UTC) are accepted.
 */
export function parseIsoLenientUs(value: string): number | undefined {
  const m = LENIENT.exec(value.trim());
  if (!m) return undefined;
  return toMicros(m[1], m[2], m[3], m[4] ?? "00", m[5] ?? "00", m[6] ?? "00", m[7], m[8]);
}

function toMicros(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
  fraction: string | undefined,
  offset: string | undefined,
): number | undefined {
  const [y = NaN, mo = NaN, d = NaN, h = NaN, mi = NaN, s = NaN] = [year, month, day, hour, minute, second].map(Number);
  if (![y, mo, d, h, mi, s].every((n) => Number.isInteger(n))) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  // Date.UTC rolls 2025-02-30 over to March; a real parser rejects it.
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  ) {
    return undefined;
  }
  const micros = fraction ? Number(fraction.padEnd(6, "0").slice(0, 6)) : 0;
  return ms * MICROS_PER_MS + micros - offsetMinutes(offset) * MICROS_PER_MINUTE;
}

function offsetMinutes(offset: string | undefined): number {
  if (!offset || offset === "Z" || offset === "z") return 0;
  const sign = offset.startsWith("-") ? -1 : 1;
  const digits = offset.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}

export function nowUs(): number {
  return Date.now() * MICROS_PER_MS;
}
