import { cachedRegex } from "./regex.js";

// A closure compiler for JsonLogic with exactly json-logic-js's semantics (version 2.0.5, plus
// Vigil's operators as condition.ts registers them there). Each condition is compiled once into
// nested closures: no operator lookup, no argument arrays and no path splitting per event.
//
// Semantics copied on purpose, quirks included: truthiness ([] is false), loose `==`, `var`
// (dotted paths, defaults, "" / null for the whole data), arguments evaluated depth-first before
// an operator runs (so an argument that throws throws), `*` with one argument returning it
// unconverted, `+`/`*` through parseFloat, `in` through indexOf, `missing` reading keys that are
// themselves applied as logic. json-logic-js stays the reference: jsonlogic-compiler.test.ts
// compares both on random trees and events.

import { inCidr } from "./cidr.js";

/** A compiled expression: the value json-logic-js's `apply(logic, data)` returns. */
export type CompiledExpression = (data: unknown) => unknown;

interface Node {
  eval: CompiledExpression;
  /** Set when the value never depends on the data (literals and arrays of literals). */
  constant: boolean;
  value?: unknown;
}

/** json-logic-js's truthiness: JavaScript's, except that an empty array is false. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value) && value.length === 0) return false;
  return !!value;
}

function isLogic(logic: unknown): logic is Record<string, unknown> {
  return typeof logic === "object" && logic !== null && !Array.isArray(logic) && Object.keys(logic).length === 1;
}

/** Vigil's operators, shared with the json-logic-js registration in condition.ts. */
const VIGIL_OPERATIONS = {
  starts_with: (text: unknown, prefix: unknown): boolean =>
    typeof text === "string" && typeof prefix === "string" && text.startsWith(prefix),
  ends_with: (text: unknown, suffix: unknown): boolean =>
    typeof text === "string" && typeof suffix === "string" && text.endsWith(suffix),
  matches: (text: unknown, pattern: unknown): boolean => {
    if (typeof text !== "string" || typeof pattern !== "string") return false;
    return cachedRegex(pattern)?.test(text) ?? false;
  },
  hour_utc: (instant: unknown): number | null => {
    const ms = typeof instant === "string" ? Date.parse(instant) : Number.NaN;
    return Number.isNaN(ms) ? null : new Date(ms).getUTCHours();
  },
  lower: (text: unknown): unknown => (typeof text === "string" ? text.toLowerCase() : text),
  in_cidr: inCidr,
};

const splitPaths = new Map<string, string[]>();
function splitPath(key: string): string[] {
  let parts = splitPaths.get(key);
  if (!parts) {
    parts = key.split(".");
    if (splitPaths.size < 10_000) splitPaths.set(key, parts);
  }
  return parts;
}

/** json-logic-js's `var`: a dotted path into the data, the default (or null) when absent. */
function readVar(data: unknown, path: unknown, fallback: unknown): unknown {
  const notFound = fallback === undefined ? null : fallback;
  if (path === undefined || path === "" || path === null) return data;
  let current = data;
  for (const part of splitPath(String(path))) {
    if (current === null || current === undefined) return notFound;
    current = (current as Record<string, unknown>)[part];
    if (current === undefined) return notFound;
  }
  return current;
}

/** A reader for a path known when compiling, specialised for the one- and two-part paths rules use. */
function pathReader(path: unknown, fallback: Node): CompiledExpression {
  // json-logic-js evaluates the default before reading, so a default that throws throws.
  if (!fallback.constant) return (data) => readVar(data, path, fallback.eval(data));
  if (path === undefined || path === "" || path === null) return (data) => data;
  const parts = String(path).split(".");
  const notFound = fallback.value === undefined ? null : fallback.value;
  if (parts.length === 1) {
    const [p0] = parts as [string];
    return (data) => {
      if (data === null || data === undefined) return notFound;
      const v = (data as Record<string, unknown>)[p0];
      return v === undefined ? notFound : v;
    };
  }
  if (parts.length === 2) {
    const [p0, p1] = parts as [string, string];
    return (data) => {
      if (data === null || data === undefined) return notFound;
      const a = (data as Record<string, unknown>)[p0];
      if (a === undefined || a === null) return notFound;
      const v = (a as Record<string, unknown>)[p1];
      return v === undefined ? notFound : v;
    };
  }
  return (data) => {
    let current = data;
    for (const part of parts) {
      if (current === null || current === undefined) return notFound;
      current = (current as Record<string, unknown>)[part];
      if (current === undefined) return notFound;
    }
    return current;
  };
}

/** Applies logic that only exists at run time (the keys `missing` reads), as json-logic-js would. */
function applyDynamic(logic: unknown, data: unknown): unknown {
  if (!Array.isArray(logic) && !isLogic(logic)) return logic;
  return compile(logic).eval(data);
}

function missing(args: readonly unknown[], data: unknown): unknown[] {
  const out: unknown[] = [];
  const keys = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  for (const key of keys) {
    const varArgs = (Array.isArray(key) ? key : [key]).map((k) => applyDynamic(k, data));
    const value = readVar(data, varArgs[0], varArgs[1]);
    if (value === null || value === "") out.push(key);
  }
  return out;
}

type Operation = (args: unknown[], data: unknown) => unknown;

// Loose comparisons are the point: these are json-logic-js's operators, argument for argument.

const n = (v: unknown) => v as number;
const OPERATIONS: Record<string, Operation> = {
  // biome-ignore lint/suspicious/noDoubleEquals: json-logic-js's loose equality
  "==": ([a, b]) => a == b,
  "===": ([a, b]) => a === b,
  // biome-ignore lint/suspicious/noDoubleEquals: json-logic-js's loose inequality
  "!=": ([a, b]) => a != b,
  "!==": ([a, b]) => a !== b,
  ">": ([a, b]) => n(a) > n(b),
  ">=": ([a, b]) => n(a) >= n(b),
  "<": ([a, b, c]) => (c === undefined ? n(a) < n(b) : n(a) < n(b) && n(b) < n(c)),
  "<=": ([a, b, c]) => (c === undefined ? n(a) <= n(b) : n(a) <= n(b) && n(b) <= n(c)),
  "!!": ([a]) => truthy(a),
  "!": ([a]) => !truthy(a),
  "%": ([a, b]) => n(a) % n(b),
  in: ([a, b]) => {
    if (!b || typeof (b as { indexOf?: unknown }).indexOf === "undefined") return false;
    return (b as { indexOf(x: unknown): number }).indexOf(a) !== -1;
  },
  cat: (args) => args.join(""),
  substr: ([source, start, end]) => {
    if (n(end) < 0) {
      const temp = String(source).substr(n(start));
      return temp.substr(0, temp.length + n(end));
    }
    return String(source).substr(n(start), n(end));
  },
  "+": (args) => {
    let acc: unknown = 0;
    for (const v of args) acc = parseFloat(acc as string) + parseFloat(v as string);
    return acc;
  },
  "*": (args) => {
    if (args.length === 0) throw new TypeError("Reduce of empty array with no initial value");
    let acc = args[0];
    for (let i = 1; i < args.length; i++) acc = parseFloat(acc as string) * parseFloat(args[i] as string);
    return acc;
  },
  "-": ([a, b]) => (b === undefined ? -n(a) : n(a) - n(b)),
  "/": ([a, b]) => n(a) / n(b),
  min: (args) => Math.min(...(args as number[])),
  max: (args) => Math.max(...(args as number[])),
  merge: (args) => {
    let acc: unknown[] = [];
    for (const v of args) acc = acc.concat(v);
    return acc;
  },
  var: ([path, fallback], data) => readVar(data, path, fallback),
  missing: (args, data) => missing(args, data),
  missing_some: ([needCount, options], data) => {
    const keys = (Array.isArray(options) ? options : [options]).map((o) => applyDynamic(o, data));
    const areMissing = missing(keys, data);
    return (options as { length: number }).length - areMissing.length >= n(needCount) ? [] : areMissing;
  },
  starts_with: ([a, b]) => VIGIL_OPERATIONS.starts_with(a, b),
  ends_with: ([a, b]) => VIGIL_OPERATIONS.ends_with(a, b),
  matches: ([a, b]) => VIGIL_OPERATIONS.matches(a, b),
  hour_utc: ([a]) => VIGIL_OPERATIONS.hour_utc(a),
  lower: ([a]) => VIGIL_OPERATIONS.lower(a),
  in_cidr: ([a, b]) => VIGIL_OPERATIONS.in_cidr(a, b),
};

const constant = (value: unknown): Node => ({ eval: () => value, constant: true, value });

function compileArray(items: readonly unknown[]): Node {
  const nodes = items.map(compile);
  if (nodes.every((node) => node.constant)) return constant(nodes.map((node) => node.value));
  const evals = nodes.map((node) => node.eval);
  return {
    constant: false,
    eval: (data) => {
      const out = new Array<unknown>(evals.length);
      for (let i = 0; i < evals.length; i++) out[i] = evals[i]!(data);
      return out;
    },
  };
}

function compileScoped(op: string, values: readonly unknown[]): Node {
  const scope = compile(values[0]).eval;
  const inner = compile(values[1]).eval;
  switch (op) {
    case "filter":
      return {
        constant: false,
        eval: (data) => {
          const items = scope(data);
          return Array.isArray(items) ? items.filter((item) => truthy(inner(item))) : [];
        },
      };
    case "map":
      return {
        constant: false,
        eval: (data) => {
          const items = scope(data);
          return Array.isArray(items) ? items.map((item) => inner(item)) : [];
        },
      };
    case "reduce": {
      const initial = values[2] !== undefined ? compile(values[2]).eval : () => null;
      return {
        constant: false,
        eval: (data) => {
          const items = scope(data);
          const start = initial(data);
          if (!Array.isArray(items)) return start;
          return items.reduce((accumulator: unknown, current: unknown) => inner({ current, accumulator }), start);
        },
      };
    }
    case "all":
      return {
        constant: false,
        eval: (data) => {
          const items = scope(data);
          if (!Array.isArray(items) || !items.length) return false;
          for (const item of items) if (!truthy(inner(item))) return false;
          return true;
        },
      };
    case "none":
      return {
        constant: false,
        eval: (data) => {
          const items = scope(data);
          if (!Array.isArray(items) || !items.length) return true;
          for (const item of items) if (truthy(inner(item))) return false;
          return true;
        },
      };
    default: // some
      return {
        constant: false,
        eval: (data) => {
          const items = scope(data);
          if (!Array.isArray(items) || !items.length) return false;
          for (const item of items) if (truthy(inner(item))) return true;
          return false;
        },
      };
  }
}

/** Binary comparisons with both sides compiled: no argument array per call. */
function compileBinary(op: string, a: CompiledExpression, b: CompiledExpression): CompiledExpression | undefined {
  switch (op) {
    case "==":
      // biome-ignore lint/suspicious/noDoubleEquals: json-logic-js's loose equality
      return (d) => a(d) == b(d);
    case "===":
      return (d) => a(d) === b(d);
    case "!=":
      // biome-ignore lint/suspicious/noDoubleEquals: json-logic-js's loose inequality
      return (d) => a(d) != b(d);
    case "!==":
      return (d) => a(d) !== b(d);
    case ">":
      return (d) => n(a(d)) > n(b(d));
    case ">=":
      return (d) => n(a(d)) >= n(b(d));
    case "<":
      return (d) => n(a(d)) < n(b(d));
    case "<=":
      return (d) => n(a(d)) <= n(b(d));
    case "starts_with":
      return (d) => VIGIL_OPERATIONS.starts_with(a(d), b(d));
    case "ends_with":
      return (d) => VIGIL_OPERATIONS.ends_with(a(d), b(d));
    default:
      return undefined;
  }
}

function compileOperation(op: string, values: readonly unknown[]): Node {
  const args = values.map(compile);
  const evals = args.map((arg) => arg.eval);
  if (op === "var") {
    const [path, fallback] = args;
    if (!path || path.constant)
      return { constant: false, eval: pathReader(path?.value, fallback ?? constant(undefined)) };
  }
  if (args.length === 2) {
    const [a, b] = args as [Node, Node];
    if (
      op === "in" &&
      b.constant &&
      Array.isArray(b.value) &&
      b.value.length > 8 &&
      b.value.every((v) => v === null || typeof v !== "object")
    ) {
      // indexOf on JSON literals is strict equality, which Set.has matches (JSON has no NaN).
      const set = new Set(b.value);
      return { constant: false, eval: (d) => set.has(a.eval(d)) };
    }
    if (op === "matches" && b.constant && typeof b.value === "string") {
      const regex = cachedRegex(b.value);
      return {
        constant: false,
        eval: (d) => {
          const text = a.eval(d);
          return typeof text === "string" && regex !== null && regex.test(text);
        },
      };
    }
    const binary = compileBinary(op, a.eval, b.eval);
    if (binary) return { constant: false, eval: binary };
  }
  if (args.length === 1 && (op === "!" || op === "!!")) {
    const a = evals[0]!;
    return { constant: false, eval: op === "!" ? (d) => !truthy(a(d)) : (d) => truthy(a(d)) };
  }
  const operation = Object.hasOwn(OPERATIONS, op) ? OPERATIONS[op] : undefined;
  const evaluateArgs = (data: unknown): unknown[] => {
    const out = new Array<unknown>(evals.length);
    for (let i = 0; i < evals.length; i++) out[i] = evals[i]!(data);
    return out;
  };
  if (!operation) {
    return {
      constant: false,
      eval: (data) => {
        evaluateArgs(data);
        throw new Error(`Unrecognized operation ${op}`);
      },
    };
  }
  return { constant: false, eval: (data) => operation(evaluateArgs(data), data) };
}

function compile(logic: unknown): Node {
  if (Array.isArray(logic)) return compileArray(logic);
  if (!isLogic(logic)) return constant(logic);
  const op = Object.keys(logic)[0]!;
  const raw = logic[op];
  const values: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  if (op === "if" || op === "?:") {
    const nodes = values.map((v) => compile(v).eval);
    return {
      constant: false,
      eval: (data) => {
        let i = 0;
        for (; i < nodes.length - 1; i += 2) {
          if (truthy(nodes[i]!(data))) return nodes[i + 1]!(data);
        }
        return nodes.length === i + 1 ? nodes[i]!(data) : null;
      },
    };
  }
  if (op === "and" || op === "or") {
    const nodes = values.map((v) => compile(v).eval);
    const stopWhen = op === "or";
    return {
      constant: false,
      eval: (data) => {
        let current: unknown;
        for (const node of nodes) {
          current = node(data);
          if (truthy(current) === stopWhen) return current;
        }
        return current;
      },
    };
  }
  if (op === "filter" || op === "map" || op === "reduce" || op === "all" || op === "none" || op === "some") {
    return compileScoped(op, values);
  }
  return compileOperation(op, values);
}

/** Compiles JsonLogic into a function returning what json-logic-js's `apply` would. */
export function compileExpression(logic: unknown): CompiledExpression {
  return compile(logic).eval;
}

/** Compiles JsonLogic into a predicate: json-logic-js's `truthy(apply(logic, data))`. */
export function compilePredicate(logic: unknown): (data: unknown) => boolean {
  if (isLogic(logic)) {
    const op = Object.keys(logic)[0]!;
    const raw = logic[op];
    const values: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
    // and/or decide on truthiness alone: the children can answer as predicates.
    if ((op === "and" || op === "or") && values.length > 0) {
      const tests = values.map(compilePredicate);
      if (op === "and") {
        if (tests.length === 1) return tests[0]!;
        if (tests.length === 2) {
          const [a, b] = tests as [(d: unknown) => boolean, (d: unknown) => boolean];
          return (d) => a(d) && b(d);
        }
        return (d) => {
          for (const test of tests) if (!test(d)) return false;
          return true;
        };
      }
      return (d) => {
        for (const test of tests) if (test(d)) return true;
        return false;
      };
    }
  }
  const node = compile(logic);
  if (node.constant) {
    const result = truthy(node.value);
    return () => result;
  }
  const evaluate = node.eval;
  return (data) => truthy(evaluate(data));
}
