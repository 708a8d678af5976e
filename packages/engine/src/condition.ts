import jsonLogic, { type RulesLogic } from "json-logic-js";
import { cidrProblem, inCidr } from "./cidr.js";
import { compilePredicate } from "./jsonlogic-compiler.js";
import { compileRegex, REGEX_INPUT_CHARS } from "./regex.js";

/** The JsonLogic operators a rule may use: json-logic-js's own, minus `method` and `log`. */
export const JSONLOGIC_OPERATORS = new Set([
  "var",
  "missing",
  "missing_some",
  "if",
  "?:",
  "==",
  "===",
  "!=",
  "!==",
  "!",
  "!!",
  "or",
  "and",
  ">",
  ">=",
  "<",
  "<=",
  "max",
  "min",
  "+",
  "-",
  "*",
  "/",
  "%",
  "map",
  "reduce",
  "filter",
  "all",
  "none",
  "some",
  "merge",
  "in",
  "cat",
  "substr",
  // Vigil's additions, registered below.
  "starts_with",
  "ends_with",
  "matches",
  "lower",
  "hour_utc",
  "in_cidr",
]);

// json-logic-js with Vigil's operators is the reference semantics: the bench's "json-logic-js
// path" runs it, and jsonlogic-compiler.test.ts checks the compiler against it. The operators are
// defined here independently of the compiler's copies so that the reference stays a reference.
jsonLogic.add_operation(
  "starts_with",
  (text: unknown, prefix: unknown) => typeof text === "string" && typeof prefix === "string" && text.startsWith(prefix),
);
jsonLogic.add_operation(
  "ends_with",
  (text: unknown, suffix: unknown) => typeof text === "string" && typeof suffix === "string" && text.endsWith(suffix),
);
/** The reference's own patterns, compiled once each (RE2 compiles are too slow to repeat per call). */
const referencePatterns = new Map<string, ReturnType<typeof compileRegex>>();
jsonLogic.add_operation("matches", (text: unknown, pattern: unknown) => {
  if (typeof text !== "string" || typeof pattern !== "string") return false;
  let regex = referencePatterns.get(pattern);
  if (!regex) {
    regex = compileRegex(pattern);
    if (referencePatterns.size < 10_000) referencePatterns.set(pattern, regex);
  }
  return "test" in regex && regex.test(text.slice(0, REGEX_INPUT_CHARS));
});
jsonLogic.add_operation("hour_utc", (instant: unknown) => {
  const ms = typeof instant === "string" ? Date.parse(instant) : Number.NaN;
  return Number.isNaN(ms) ? null : new Date(ms).getUTCHours();
});
jsonLogic.add_operation("in_cidr", (address: unknown, ranges: unknown) => inCidr(address, ranges));
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
    return [
      {
        path,
        message: `a JsonLogic operation has exactly one operator, found ${keys.length ? keys.map((k) => `"${k}"`).join(", ") : "none"}`,
      },
    ];
  }
  const operator = keys[0]!;
  const args = (logic as Record<string, unknown>)[operator];
  if (!JSONLOGIC_OPERATORS.has(operator)) {
    return [{ path: [...path, operator], message: `unknown JsonLogic operator "${operator}"` }];
  }
  if (operator === "matches") {
    const problem = checkPattern(args);
    if (problem) return [{ path: [...path, operator, ...problem.at], message: problem.message }];
  }
  if (operator === "in_cidr") {
    const ranges = Array.isArray(args) ? args[1] : undefined;
    const literals = typeof ranges === "string" ? [ranges] : Array.isArray(ranges) ? ranges : [];
    for (const [i, range] of literals.entries()) {
      const problem = typeof range === "object" && range !== null ? undefined : cidrProblem(range);
      if (problem)
        return [{ path: [...path, operator, 1, ...(typeof ranges === "string" ? [] : [i])], message: problem }];
    }
  }
  if (operator === "var" && !(typeof args === "string" || typeof args === "number" || Array.isArray(args))) {
    return [{ path: [...path, operator], message: "var takes a field path or [path, default]" }];
  }
  return checkCondition(args, [...path, operator]);
}

/**
 * `matches` takes `[text, pattern]` with the pattern a constant string in RE2 syntax: compiled
 * once at load, never from event data (which an attacker may write).
 */
function checkPattern(args: unknown): { at: number[]; message: string } | undefined {
  if (!Array.isArray(args) || args.length !== 2)
    return { at: [], message: "matches takes two arguments: [text, pattern]" };
  const pattern: unknown = args[1];
  if (typeof pattern !== "string")
    return {
      at: [1],
      message:
        "the pattern of matches must be a constant string (not a var or an operation: it is compiled once, at load)",
    };
  const compiled = compileRegex(pattern);
  if ("error" in compiled)
    return {
      at: [1],
      message: `invalid regular expression ${JSON.stringify(pattern)} (RE2 syntax): ${compiled.error}`,
    };
  return undefined;
}

/** A condition compiled once, evaluated many times. */
export interface CompiledCondition {
  test(event: unknown): boolean;
}

/** Compiles a condition into closures (jsonlogic-compiler.ts): json-logic-js's semantics, several times faster. */
export function compileCondition(logic: unknown): CompiledCondition {
  return { test: compilePredicate(logic) };
}

/** The same condition evaluated by json-logic-js on every call: the reference, and the bench's baseline. */
export function referenceCondition(logic: unknown): CompiledCondition {
  const frozen = logic as RulesLogic;
  return { test: (event) => jsonLogic.truthy(jsonLogic.apply(frozen, event)) };
}
