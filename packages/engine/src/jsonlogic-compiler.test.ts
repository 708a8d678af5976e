import { isDeepStrictEqual } from "node:util";
import { seededRandom } from "@vigil/core";
import jsonLogic from "json-logic-js";
import { describe, expect, it } from "vitest";
import { JSONLOGIC_OPERATORS } from "./condition.js";
import { compileExpression, compilePredicate } from "./jsonlogic-compiler.js";

// json-logic-js (with Vigil's operators, registered by condition.ts) is the reference.

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (random: Random, max: number) => Math.floor(random() * (max + 1));

const STRINGS = [
  "",
  "0",
  "1",
  "2.5",
  "-3",
  "1e3",
  "abc",
  "zendesk",
  "Zendesk",
  "destroy",
  "user",
  "a.b",
  "żółw 🐢",
  "İstanbul",
  "ß",
  "null",
  "true",
  " 7 ",
  "2026-03-01T23:15:00Z",
  "2026-03-01T04:00:00+02:00",
  "not a date",
  "^user1[0-9]@",
  "[",
  "u1",
  "user12@acme.example",
];
const NUMBERS = [0, -0, 1, -1, 2, 3.5, 10, 1e21, -7, 23, 0.1];
const PATHS = [
  "provider",
  "action",
  "actor",
  "actor.id",
  "actor.email",
  "actor.missing",
  "n",
  "s",
  "arr",
  "arr.0",
  "arr.1",
  "obj.x",
  "obj.y.z",
  "nil",
  "empty",
  "time",
  "flag",
  "missing",
  "missing.deep",
  "",
  "current",
  "accumulator",
  "0",
  "length",
  "id",
];
const OPERATORS = [...JSONLOGIC_OPERATORS];

function constant(random: Random, depth = 0): unknown {
  const r = random();
  if (r < 0.3) return pick(random, STRINGS);
  if (r < 0.55) return pick(random, NUMBERS);
  if (r < 0.65) return null;
  if (r < 0.75) return random() < 0.5;
  if (depth < 2) return Array.from({ length: int(random, 3) }, () => constant(random, depth + 1));
  return pick(random, STRINGS);
}

function varNode(random: Random, depth: number): unknown {
  const r = random();
  if (r < 0.55) return { var: pick(random, PATHS) };
  if (r < 0.75) return { var: [pick(random, PATHS), depth < 3 ? expression(random, depth + 1) : constant(random)] };
  if (r < 0.85) return { var: [pick(random, PATHS)] };
  if (r < 0.9) return { var: [] };
  if (r < 0.95) return { var: pick(random, [0, 1, null]) };
  return { var: { cat: [pick(random, ["actor", "obj", "arr"]), pick(random, [".id", ".x", ".0", ""])] } };
}

function args(random: Random, depth: number, min: number, max: number): unknown[] {
  return Array.from({ length: min + int(random, max - min) }, () => expression(random, depth + 1));
}

function operation(random: Random, depth: number, op: string): unknown {
  switch (op) {
    case "var":
      return varNode(random, depth);
    case "missing":
      return random() < 0.5
        ? { missing: Array.from({ length: int(random, 3) }, () => pick(random, PATHS)) }
        : { missing: [Array.from({ length: int(random, 3) }, () => pick(random, PATHS))] };
    case "missing_some":
      return {
        missing_some: [
          int(random, 3),
          random() < 0.9
            ? Array.from({ length: int(random, 3) }, () => pick(random, PATHS))
            : expression(random, depth + 1),
        ],
      };
    case "if":
    case "?:":
      return { [op]: args(random, depth, 0, 5) };
    case "and":
    case "or":
      return { [op]: args(random, depth, 0, 4) };
    case "!":
    case "!!":
      return random() < 0.5 ? { [op]: expression(random, depth + 1) } : { [op]: args(random, depth, 0, 2) };
    case "<":
    case "<=":
      return { [op]: args(random, depth, 1, 3) };
    case "==":
    case "===":
    case "!=":
    case "!==":
    case ">":
    case ">=":
    case "%":
    case "/":
    case "in":
    case "starts_with":
    case "ends_with":
      return { [op]: args(random, depth, random() < 0.9 ? 2 : 0, random() < 0.9 ? 2 : 3) };
    case "-":
      return { [op]: args(random, depth, 1, 2) };
    case "+":
    case "*":
    case "max":
    case "min":
    case "merge":
    case "cat":
      return { [op]: random() < 0.2 ? expression(random, depth + 1) : args(random, depth, 0, 3) };
    case "substr":
      return { substr: args(random, depth, 1, 3) };
    case "matches":
      return {
        matches: [
          expression(random, depth + 1),
          random() < 0.7
            ? pick(random, ["^u", "[0-9]$", "ü|🐢", "^user1[0-9]@", "(", "a.b", ""])
            : expression(random, depth + 1),
        ],
      };
    case "lower":
    case "hour_utc":
      return { [op]: expression(random, depth + 1) };
    case "in_cidr":
      return {
        in_cidr: [
          random() < 0.5
            ? pick(random, ["10.1.2.3", "192.0.2.9", "2001:db8::1", "10.1.2", ""])
            : varNode(random, depth),
          random() < 0.7
            ? pick(random, [["10.0.0.0/8"], "192.0.2.0/24", ["2001:db8::/32", "10.1.2.3"], [], ["bad"]])
            : expression(random, depth + 1),
        ],
      };
    case "map":
    case "filter":
    case "all":
    case "none":
    case "some":
      return {
        [op]: [random() < 0.6 ? varNode(random, depth) : expression(random, depth + 1), expression(random, depth + 1)],
      };
    case "reduce": {
      const body =
        random() < 0.6
          ? {
              [pick(random, ["+", "cat", "max", "merge", "and", "or"])]: [
                { var: "accumulator" },
                { var: pick(random, ["current", "current.x", "accumulator"]) },
              ],
            }
          : expression(random, depth + 1);
      return {
        reduce:
          random() < 0.7 ? [varNode(random, depth), body, constant(random)] : [expression(random, depth + 1), body],
      };
    }
    default:
      throw new Error(`no generator for operator ${op}`);
  }
}

function expression(random: Random, depth = 0): unknown {
  if (depth >= 4 || random() < 0.15 + depth * 0.12) return random() < 0.55 ? varNode(random, depth) : constant(random);
  if (random() < 0.05) return args(random, depth, 0, 2); // arrays of logic evaluate element-wise
  return operation(random, depth, pick(random, OPERATORS));
}

function event(random: Random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const maybe = (key: string, value: () => unknown) => {
    if (random() < 0.75) out[key] = value();
  };
  maybe("id", () => `e${int(random, 99)}`);
  maybe("provider", () => pick(random, ["zendesk", "pylon", "", "Zendesk", null]));
  maybe("action", () => pick(random, STRINGS));
  maybe("actor", () =>
    random() < 0.85
      ? { id: pick(random, ["u1", "u12", "", "0"]), email: pick(random, ["user12@acme.example", "ÜSER@x", "", null]) }
      : pick(random, [null, "text", 5, []]),
  );
  maybe("n", () => pick(random, [...NUMBERS, "3", "0", ""]));
  maybe("s", () => pick(random, ["3", "03", "-2.5", "x", "", "1e3", " 4"]));
  maybe("arr", () =>
    Array.from({ length: int(random, 4) }, () =>
      random() < 0.7 ? pick(random, [...NUMBERS, "2", "a", null]) : { x: pick(random, [1, "2", null]) },
    ),
  );
  maybe("obj", () => ({ x: constant(random), y: random() < 0.5 ? { z: constant(random) } : null }));
  maybe("nil", () => null);
  maybe("empty", () => pick(random, ["", [], {}]));
  maybe("time", () =>
    pick(random, ["2026-03-01T23:15:00Z", "2026-03-02T04:59:59.999Z", "2026-03-01T04:00:00+02:00", "bad", 17]),
  );
  maybe("flag", () => pick(random, [true, false, 0, 1, "false"]));
  return out;
}

type Outcome = { threw: true } | { threw: false; value: unknown };
function run(fn: () => unknown): Outcome {
  try {
    return { threw: false, value: fn() };
  } catch {
    return { threw: true };
  }
}

describe("JsonLogic closure compiler", () => {
  it("agrees with json-logic-js on random condition trees over every allowed operator and random events", () => {
    const random = seededRandom(20261129);
    const seenOperators = new Set<string>();
    let pairs = 0;
    let truthyPairs = 0;
    let thrownPairs = 0;
    for (let t = 0; t < 4000; t++) {
      const logic = expression(random);
      JSON.stringify(logic, (_key, value: unknown) => {
        if (value && typeof value === "object" && !Array.isArray(value))
          for (const k of Object.keys(value)) seenOperators.add(k);
        return value;
      });
      const predicate = compilePredicate(logic);
      const evaluate = compileExpression(logic);
      for (let e = 0; e < 4; e++) {
        const data = event(random);
        const reference = run(() => jsonLogic.apply(logic as never, data) as unknown);
        const value = run(() => evaluate(data));
        const test = run(() => predicate(data));
        const where = `logic ${JSON.stringify(logic)} on ${JSON.stringify(data)}`;
        expect(value.threw, where).toBe(reference.threw);
        expect(test.threw, where).toBe(reference.threw);
        if (!reference.threw && !value.threw && !test.threw) {
          const expected = jsonLogic.truthy(reference.value);
          expect(test.value, where).toBe(expected);
          expect(
            isDeepStrictEqual(value.value, reference.value),
            `${where}: ${String(value.value)} vs ${String(reference.value)}`,
          ).toBe(true);
          if (expected) truthyPairs++;
        } else thrownPairs++;
        pairs++;
      }
    }
    // The generator reaches every operator, and the pairs are not all one answer.
    for (const op of JSONLOGIC_OPERATORS) expect(seenOperators.has(op), op).toBe(true);
    expect(pairs).toBe(16_000);
    expect(truthyPairs).toBeGreaterThan(pairs * 0.2);
    expect(truthyPairs).toBeLessThan(pairs * 0.8);
    expect(thrownPairs).toBeLessThan(pairs * 0.05);
  });

  it("keeps json-logic-js's quirks", () => {
    const cases: [unknown, unknown][] = [
      [{ "*": ["3"] }, {}],
      [{ "+": ["1", "2.5", 3] }, {}],
      [{ "==": [{ var: "n" }, "3"] }, { n: 3 }],
      [{ in: ["ab", { var: "s" }] }, { s: "cabd" }],
      [{ in: [{ var: "s" }, ["a", "b"]] }, { s: "b" }],
      [{ var: ["actor.email", "none"] }, { actor: { email: null } }],
      [{ var: ["actor.email", "none"] }, { actor: null }],
      [{ missing: ["a", "b.c"] }, { a: "", b: { c: 0 } }],
      [{ missing_some: [1, ["a", "b"]] }, { b: 1 }],
      [{ and: [] }, {}],
      [{ "!": [[]] }, {}],
      [{ reduce: [{ var: "xs" }, { "+": [{ var: "current" }, { var: "accumulator" }] }, 0] }, { xs: [1, "2", 3] }],
      [{ all: [[], true] }, {}],
      [{ none: [[], true] }, {}],
      [{ substr: ["jsonlogic", 2, -3] }, {}],
      [{ hour_utc: { var: "time" } }, { time: "2026-03-01T04:00:00+02:00" }],
      [{ matches: [{ var: "e" }, "^user1[0-9]@"] }, { e: "user12@acme.example" }],
    ];
    for (const [logic, data] of cases) {
      expect(compileExpression(logic)(data), JSON.stringify(logic)).toStrictEqual(
        jsonLogic.apply(logic as never, data),
      );
    }
    expect(() => compileExpression({ "*": [] })({})).toThrow();
    expect(() => compileExpression({ missing_some: [1, null] })({})).toThrow();
  });
});
