import { performance } from "node:perf_hooks";
import type { AuditEvent } from "@vigil/core";
import { parseRules } from "@vigil/engine";
import { generateEvents } from "./workload.js";

/** Detection-style patterns over the bench's events: the field read and the pattern (RE2 syntax). */
const PATTERNS: [field: string, pattern: string][] = [
  ["actor.email", "^user1[0-9]@"],
  ["action", "^(Create|Update|Delete)(SAML|OIDC|SSO)IdentityProvider$"],
  ["action", "(?i)token"],
  ["actor.email", "@(evil|mallory)\\.example$"],
  ["ip", "^[0-9]{1,3}(\\.[0-9]{1,3}){3}$"],
];

/** The pattern that backtracks: its time doubles with each character of a name that almost matches. */
const HOSTILE_PATTERN = "^([A-Za-z]+ ?)+$";

type Test = (event: AuditEvent) => boolean;

function readPath(event: AuditEvent, parts: readonly string[]): unknown {
  let value: unknown = event;
  for (const part of parts) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

/** Vigil's conditions: `matches` as a rule compiles it (RE2 via re2js). */
function re2Tests(): Test[] {
  return PATTERNS.map(([field, pattern], i) => {
    const rule = { id: `m${i}`, name: "m", severity: "low", when: { matches: [{ var: field }, pattern] } };
    const { rules, problems } = parseRules(JSON.stringify(rule), `bench/m${i}.json`);
    if (problems.length) throw new Error(problems.map((p) => p.message).join("\n"));
    return (event) => rules[0]!.condition.test(event);
  });
}

/** The same conditions on JavaScript's backtracking RegExp, as `matches` ran before (a leading `(?i)` as the `i` flag). */
function backtrackingTests(): Test[] {
  return PATTERNS.map(([field, pattern]) => {
    const insensitive = pattern.startsWith("(?i)");
    const regex = new RegExp(insensitive ? pattern.slice(4) : pattern, insensitive ? "i" : "");
    const parts = field.split(".");
    return (event) => {
      const text = readPath(event, parts);
      return typeof text === "string" && regex.test(text);
    };
  });
}

function rate(tests: Test[], events: readonly AuditEvent[]): { rate: number; matched: number } {
  let matched = 0;
  const start = performance.now();
  for (const event of events) for (const test of tests) if (test(event)) matched++;
  return { rate: (events.length * tests.length) / ((performance.now() - start) / 1000), matched };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface MatchesBench {
  /** Pattern tests per second, median round, and every round's. */
  re2: { rate: number; rates: number[]; matched: number };
  backtracking: { rate: number; rates: number[]; matched: number };
  /** The hostile pattern on 'a'×n + '!': milliseconds per engine. */
  hostile: { chars: number; re2Ms: number; backtrackingMs?: number }[];
}

/** `matches` on RE2 against JavaScript's RegExp, in process, on the same events, rounds interleaved. */
export function runMatchesBench(options: { events: number; rounds: number }): MatchesBench {
  const events = generateEvents(options.events);
  const engines = { re2: re2Tests(), backtracking: backtrackingTests() };
  for (const tests of Object.values(engines)) rate(tests, events.slice(0, 2_000)); // warm-up
  const runs = { re2: [] as number[], backtracking: [] as number[] };
  const matched = { re2: 0, backtracking: 0 };
  for (let round = 0; round < options.rounds; round++) {
    for (const name of ["re2", "backtracking"] as const) {
      const r = rate(engines[name], events);
      runs[name].push(r.rate);
      matched[name] = r.matched;
    }
  }
  const timed = (test: () => boolean) => {
    const start = performance.now();
    test();
    return performance.now() - start;
  };
  const hostileRe2 = parseRules(
    JSON.stringify({
      id: "h",
      name: "h",
      severity: "low",
      when: { matches: [{ var: "actor.name" }, HOSTILE_PATTERN] },
    }),
    "bench/hostile.json",
  ).rules[0]!.condition;
  const hostileJs = new RegExp(HOSTILE_PATTERN);
  const hostile = [16, 20, 22, 65_536].map((chars) => {
    const name = `${"a".repeat(chars)}!`;
    return {
      chars,
      re2Ms: timed(() => hostileRe2.test({ actor: { name } })),
      // Beyond a couple of dozen characters the backtracking engine would not finish in a day.
      ...(chars <= 22 ? { backtrackingMs: timed(() => hostileJs.test(name)) } : {}),
    };
  });
  return {
    re2: { rate: median(runs.re2), rates: runs.re2, matched: matched.re2 },
    backtracking: { rate: median(runs.backtracking), rates: runs.backtracking, matched: matched.backtracking },
    hostile,
  };
}
