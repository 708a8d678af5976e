import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "@vigil/core";
import {
  Engine,
  loadRules,
  parseRules,
  RedisRuleStateStore,
  RuleIndex,
  type LoadedRule,
  type RuleInput,
  type RuleStateStore,
} from "@vigil/engine";
import { generateEvents, generateRules } from "../../bench/workload.js";
import { event, seededRandom, useRedis } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS } from "@vigil/core";

// The rule index only skips rules that cannot match: with and without it, the engine must
// produce exactly the same work for Redis and exactly the same alerts.

const { redis, keyspace } = useRedis();
const NOW = new Date("2026-03-02T00:00:00Z");
const unusedStore: RuleStateStore = {
  apply: () => Promise.reject(new Error("not used")),
  advance: () => Promise.reject(new Error("not used")),
  sources: () => Promise.reject(new Error("not used")),
  capSource: () => Promise.reject(new Error("not used")),
};

function load(inputs: RuleInput[]): LoadedRule[] {
  return inputs.flatMap((input) => {
    const { rules, problems } = parseRules(JSON.stringify(input), `${input.id}.json`);
    expect(problems).toEqual([]);
    return rules;
  });
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const PROVIDERS = ["pylon", "zendesk", "ashby", "logfire", "bloodhound", "other"];
const ACTIONS = [
  "LoginFailed",
  "destroy",
  "CandidateViewed",
  "DELETE",
  "LoginAttempt",
  "UserDeleted",
  "exported",
  "LOGIN",
  "update",
  "nothing",
];
const VALUES: Record<string, string[]> = {
  provider: PROVIDERS,
  source: PROVIDERS.map((p) => `${p}-prod`),
  action: ACTIONS,
  category: ["authentication", "create", "read", "update", "delete", "permission", "export", "other"],
  outcome: ["success", "failure", "unknown"],
};

function fieldClause(random: Random): unknown {
  const field = pick(random, Object.keys(VALUES));
  const value = pick(random, VALUES[field]!);
  const v = { var: field };
  switch (Math.floor(random() * 7)) {
    case 0:
      return { "===": [v, value] };
    case 1:
      return { in: [v, [value, pick(random, VALUES[field]!)]] };
    case 2:
      return { "!=": [v, value] };
    case 3:
      return { in: [v, `${value}|${pick(random, VALUES[field]!)}`] };
    case 4:
      return { starts_with: [v, value.slice(0, 3)] };
    case 5:
      return { or: [{ "==": [v, value] }, { "==": [value.toUpperCase(), v] }] };
    default:
      return { "==": [v, value] };
  }
}

function otherClause(random: Random): unknown {
  switch (Math.floor(random() * 8)) {
    case 0:
      return { "==": [{ var: "actor.type" }, "api"] };
    case 1:
      return { in: [{ var: "actor.id" }, ["u1", "u2", "u3", "u4"]] };
    case 2:
      return { "<": [{ var: "target.id" }, "t2"] };
    case 3:
      return random() < 0.3 ? { "*": [] } : true; // `*` with no argument throws in json-logic-js
    case 4:
      return { missing: ["ip"] };
    case 5:
      return { starts_with: [{ var: "ip" }, "198.51.1"] };
    case 6:
      return { "==": [{ var: ["provider", "x"] }, { var: "source" }] };
    default:
      return { "!": { "==": [{ var: "outcome" }, "success"] } };
  }
}

function randomWhen(random: Random): RuleInput["when"] {
  const r = random();
  if (r < 0.05) return true;
  if (r < 0.15) return fieldClause(random) as RuleInput["when"];
  const clauses = Array.from({ length: Math.floor(random() * 5) }, () =>
    random() < 0.6 ? fieldClause(random) : otherClause(random),
  );
  if (clauses.length > 2 && random() < 0.3)
    return { and: [clauses[0], { and: clauses.slice(1, 3) }, ...clauses.slice(3)] };
  return { and: clauses };
}

function randomRules(random: Random, count: number): RuleInput[] {
  return Array.from({ length: count }, (_, i): RuleInput => {
    const threshold = random() < 0.3;
    return {
      id: `random.${i}`,
      name: `random ${i}`,
      severity: "low",
      when: randomWhen(random),
      ...(threshold
        ? {
            threshold: {
              count: 2 + Math.floor(random() * 4),
              within: "10m",
              groupBy: [pick(random, ["actor.id", "ip"])],
              ...(random() < 0.3 ? { distinct: "target.id" } : {}),
            },
          }
        : {}),
      title: "{{actor.id}} {{action}} {{count}}",
    };
  });
}

function randomEvents(random: Random, count: number, seed: number): AuditEvent[] {
  return generateEvents(count, { seed, spanMs: 3_600_000 }).map((e) => {
    const copy = {
      ...e,
      action: random() < 0.5 ? pick(random, ACTIONS) : e.action,
      actor: { ...e.actor, id: `u${Math.floor(random() * 6)}` },
    };
    if (random() < 0.3) copy.target = { ...copy.target, id: `t${Math.floor(random() * 4)}` };
    return copy;
  });
}

function outcome(run: () => unknown): unknown {
  try {
    return run();
  } catch (err) {
    return { threw: String(err) };
  }
}

async function alertsOf(rules: LoadedRule[], batches: readonly AuditEvent[][], ruleIndex: boolean) {
  const engine = new Engine(
    rules,
    new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
    { ruleIndex, now: () => NOW },
  );
  const alerts = [];
  for (const batch of batches) alerts.push(...(await engine.processBatch(batch, randomUUID())).alerts);
  return alerts;
}

const batchesOf = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

describe("the rule index", () => {
  it("gives the window store exactly the same batches on random rules and events (and throws where the full scan throws)", () => {
    const random = seededRandom(9);
    let throwing = 0;
    let candidates = 0;
    let tested = 0;
    for (let round = 0; round < 150; round++) {
      const rules = load(randomRules(random, 1 + Math.floor(random() * 40)));
      const events = randomEvents(random, 200, round);
      // Some events the index cannot key: fields that are not strings, or absent.
      for (const e of events.slice(0, 10))
        Object.assign(e, pick(random, [{ provider: 3 }, { action: undefined }, { outcome: null }, {}]));
      const index = new RuleIndex(rules.map((r) => ({ when: r.rule.when })));
      for (const e of events) candidates += index.candidates(e).length;
      tested += events.length * rules.length;
      const indexed = new Engine(rules, unusedStore, { ruleIndex: true });
      const full = new Engine(rules, unusedStore, { ruleIndex: false });
      for (const batch of batchesOf(events, 50)) {
        const expected = outcome(() => full.evaluate(batch));
        if (expected && typeof expected === "object" && "threw" in expected) throwing++;
        expect(outcome(() => indexed.evaluate(batch))).toEqual(expected);
      }
    }
    expect(throwing).toBeGreaterThan(0);
    expect(candidates).toBeLessThan(tested * 0.6); // the index does skip rules
  });

  it("raises exactly the same alerts on the shipped rules and their test events", async () => {
    const rules = loadRules([join(import.meta.dirname, "../../rules")]);
    const events = rules.flatMap(({ rule }) =>
      (rule.tests ?? []).flatMap((t) =>
        t.events.flatMap((e) => ("watermark" in e ? [] : [event({ ...e, id: `${rule.id}:${t.name}:${e.id}` })])),
      ),
    );
    const batches = batchesOf(events, 7);
    const withIndex = await alertsOf(rules, batches, true);
    expect(withIndex.length).toBeGreaterThan(5);
    expect(withIndex).toEqual(await alertsOf(rules, batches, false));
  });

  it("raises exactly the same alerts on the bench's rules and events, and on random rules", async () => {
    const benchBatches = batchesOf(generateEvents(10_000, { seed: 3 }), 200);
    const benchRules = load(generateRules());
    const bench = await alertsOf(benchRules, benchBatches, true);
    expect(bench.length).toBeGreaterThan(50);
    expect(bench).toEqual(await alertsOf(benchRules, benchBatches, false));

    const random = seededRandom(11);
    const rules = load(
      randomRules(random, 60).map((r) => (JSON.stringify(r.when).includes('"*"') ? { ...r, when: true } : r)),
    );
    const batches = batchesOf(randomEvents(random, 4_000, 5), 200);
    const alerts = await alertsOf(rules, batches, true);
    expect(alerts.length).toBeGreaterThan(100);
    expect(alerts).toEqual(await alertsOf(rules, batches, false));
  });
});
