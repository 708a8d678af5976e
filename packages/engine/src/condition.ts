import jsonLogic, { type RulesLogic } from "json-logic-js";

/** The JsonLogic operators a rule may use: json-logic-js's own, minus `method` and `log`. */
export const JSONLOGIC_OPERATORS = new Set([
  "var", "missing", "missing_some",
  "if", "?:", "==", "===", "!=", "!==", "!", "!!", "or", "and",
  ">", ">=", "<", "<=", "max", "min", "+", "-", "*", "/", "%",
  "map", "reduce", "filter", "all", "none", "some", "merge", "in", "cat", "substr",
  // Vigil's additions, registered below.
  "starts_with", "ends_with", "matches", "lower", "hour_utc",
]);

const regexCache = new Map<string, RegExp | null>();
function cachedRegex(pattern: string): RegExp | null {
  let regex = regexCache.get(pattern);
  if (regex === undefined) {
    try {
      regex = new RegExp(pattern);
    } catch {
      regex = null;
    }
    regexCache.set(pattern, regex);
  }
  return regex;
}

// json-logic-js's own `var`, with each path split once instead of on every lookup: the
// semantics are unchanged (missing → the default or null; "" or null → the whole data).
const splitPaths = new Map<string, string[]>();
jsonLogic.add_operation("var", function (this: unknown, path: unknown, fallback: unknown) {
  const notFound = fallback === undefined ? null : fallback;
  let data: unknown = this;
  if (path === undefined || path === "" || path === null) return data;
  const key = String(path);
  let parts = splitPaths.get(key);
  if (!parts) {
    parts = key.split(".");
    if (splitPaths.size < 10_000) splitPaths.set(key, parts);
  }
  for (const part of parts) {
    if (data === null || data === undefined) return notFound;
    data = (data as Record<string, unknown>)[part];
    if (data === undefined) return notFound;
  }
  return data;
});
jsonLogic.add_operation("starts_with", (text: unknown, prefix: unknown) => typeof text === "string" && typeof prefix === "string" && text.startsWith(prefix));
jsonLogic.add_operation("ends_with", (text: unknown, suffix: unknown) => typeof text === "string" && typeof suffix === "string" && text.endsWith(suffix));
jsonLogic.add_operation("matches", (text: unknown, pattern: unknown) => {
  if (typeof text !== "string" || typeof pattern !== "string") return false;
  return cachedRegex(pattern)?.test(text) ?? false;
});
jsonLogic.add_operation("hour_utc", (instant: unknown) => {
  const ms = typeof instant === "string" ? Date.parse(instant) : Number.NaN;
  return Number.isNaN(ms) ? null : new Date(ms).getUTCHours();
});
jsonLogic.add_operation("lower", (text: unknown) => (typeof text === "string" ? text.toLowerCase() : text));

/** A problem inside a condition, with the path of the offending node below `when`. */
export interface ConditionProblem {
  path: (string | number)[];
  message: string;
}

/** Checks every operator of a JsonLogic tree; returns one problem per bad node. */
export function checkCondition(logic: unknown, path: (string | number)[] = []): ConditionProblem[] {
  if (Array.isArray(logic)) return logic.flatMap((item, i) => checkCondition(item, [...path, i]));
  if (logic === null || typeof logic !== "object") return [];
  const keys = Object.keys(logic);
  if (keys.length !== 1) {
    return [{ path, message: `a JsonLogic operation has exactly one operator, found ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "none"}` }];
  }
  const operator = keys[0]!;
  const args = (logic as Record<string, unknown>)[operator];
  if (!JSONLOGIC_OPERATORS.has(operator)) {
    return [{ path: [...path, operator], message: `unknown JsonLogic operator "${operator}"` }];
  }
  if (operator === "matches") {
    const pattern = Array.isArray(args) ? args[1] : undefined;
    if (typeof pattern === "string" && cachedRegex(pattern) === null) {
      return [{ path: [...path, operator, 1], message: `invalid regular expression ${JSON.stringify(pattern)}` }];
    }
  }
  if (operator === "var" && !(typeof args === "string" || typeof args === "number" || Array.isArray(args))) {
    return [{ path: [...path, operator], message: "var takes a field path or [path, default]" }];
  }
  return checkCondition(args, [...path, operator]);
}

/** A condition parsed once, evaluated many times. */
export interface CompiledCondition {
  test(event: unknown): boolean;
}

export function compileCondition(logic: unknown): CompiledCondition {
  if (typeof logic === "boolean") return { test: () => logic };
  const frozen = logic as RulesLogic;
  return { test: (event) => jsonLogic.truthy(jsonLogic.apply(frozen, event)) };
}
