import jsonLogic, { type RulesLogic } from "json-logic-js";
import { cidrProblem, inCidr } from "./cidr.js";
import { cachedRegex, compilePredicate } from "./jsonlogic-compiler.js";

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
jsonLogic.add_operation("matches", (text: unknown, pattern: unknown) => {
  if (typeof text !== "string" || typeof pattern !== "string") return false;
  let regex: RegExp | null;
  try {
    regex = new RegExp(pattern);
  } catch {
    regex = null;
  }
  return regex?.test(text) ?? false;
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
    const pattern = Array.isArray(args) ? args[1] : undefined;
    if (typeof pattern === "string" && cachedRegex(pattern) === null) {
      return [{ path: [...path, operator, 1], message: `invalid regular expression ${JSON.stringify(pattern)}` }];
    }
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
