import { RE2JS } from "re2js";

/**
 * The most characters of a string `matches` reads; the rest is not looked at. Longer than any
 * string an event may hold (core's 64 Ki characters and the cut marker), so it bites only on
 * strings a condition builds (`cat` of several fields).
 */
export const REGEX_INPUT_CHARS = 128 * 1024;

/** A pattern compiled by RE2 (re2js): time linear in the input, whatever the pattern. */
export interface LinearRegex {
  /** Whether the pattern matches somewhere in the text's first {@link REGEX_INPUT_CHARS} characters. */
  test(text: string): boolean;
}

/**
 * Compiles a `matches` pattern in RE2 syntax (no backreferences, no lookaround; `(?i)` for
 * case-insensitive matching). Returns the reason when RE2 refuses the pattern.
 */
export function compileRegex(pattern: string): LinearRegex | { error: string } {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return { error: (err as Error).message };
  }
  return {
    test: (text) => re.test(text.length > REGEX_INPUT_CHARS ? text.slice(0, REGEX_INPUT_CHARS) : text),
  };
}

const regexCache = new Map<string, LinearRegex | null>();

/** {@link compileRegex} once per pattern (bounded cache); null when the pattern is invalid. */
export function cachedRegex(pattern: string): LinearRegex | null {
  let regex = regexCache.get(pattern);
  if (regex === undefined) {
    const compiled = compileRegex(pattern);
    regex = "error" in compiled ? null : compiled;
    if (regexCache.size < 10_000) regexCache.set(pattern, regex);
  }
  return regex;
}
