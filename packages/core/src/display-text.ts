/**
 * Characters that steer a terminal or a reader rather than show: C0 controls (ESC starts every
 * terminal escape, CR rewrites a line), DEL, C1 controls (CSI and OSC have one-byte forms),
 * Unicode line and paragraph separators, and the bidirectional marks, embeddings, overrides and
 * isolates that make text read differently from how it is stored; plus the BOM.
 */
const STEERING = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g;
const STEERING_BUT_NEWLINE =
  /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g;
const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeOne(char: string): string {
  return SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Text from outside (an event, a record, a provider's answer) made safe to show: every control
 * character (see above) written as a visible escape, `\n`, `\r`, `\t` or `\uXXXX`.
 * `keepNewlines` leaves LF alone, for multi-line output whose values were escaped already.
 */
export function escapeControlChars(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? STEERING_BUT_NEWLINE : STEERING, escapeOne);
}

/** Longest event value or title shown whole in text meant for people (an alert email). */
export const MAX_DISPLAYED_VALUE_CHARS = 200;

/**
 * An untrusted value shown as data: cut at `maxChars` characters (code points; how many were
 * left out follows the closing quote), on one line with its controls escaped, and in double
 * quotes with `"` and `\` escaped, so it can neither end its quotes nor start a line of its own.
 */
export function quoteUntrusted(value: string, maxChars = MAX_DISPLAYED_VALUE_CHARS): string {
  const { kept, omitted } = cut(value, maxChars);
  return `"${escapeControlChars(kept.replace(/["\\]/g, "\\$&"))}"${omitted}`;
}

/** An untrusted value on one line, controls escaped, cut at `maxChars` characters: for a line that cannot hold quotes (a subject). */
export function oneLineUntrusted(value: string, maxChars = MAX_DISPLAYED_VALUE_CHARS): string {
  const { kept, omitted } = cut(value, maxChars);
  return `${escapeControlChars(kept)}${omitted}`;
}

function cut(value: string, maxChars: number): { kept: string; omitted: string } {
  if (value.length <= maxChars) return { kept: value, omitted: "" };
  const chars = Array.from(value);
  if (chars.length <= maxChars) return { kept: value, omitted: "" };
  return { kept: chars.slice(0, maxChars).join(""), omitted: `… (${chars.length - maxChars} more characters)` };
}
