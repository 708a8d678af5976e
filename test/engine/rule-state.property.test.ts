import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "@vigil/core";
import type { Alert } from "@vigil/core";
import {
  compileRule,
  Engine,
  MemoryRuleStateStore,
  parseRules,
  RedisRuleStateStore,
  type BatchOutcome,
  type LoadedRule,
} from "@vigil/engine";
import { event, seededRandom, shuffle, useRedis } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS } from "@vigil/core";

// The Redis store against the in-memory definition: random rules, random events with
// duplicates, delivered in shuffled orders (within the lateness, and beyond it), split into
// random batches. Every batch's outcome must be identical.

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T00:00:00Z");
const MIN = 60_000;
const NOW = () => new Date("2026-03-02T00:00:00Z");

function randomRules(random: () => number): LoadedRule[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const docs: string[] = [];
  for (let i = 0; i < 4; i++) {
    const distinct = random() < 0.4 ? "distinct: target.id" : "";
    docs.push(`id: p.threshold.${i}
name: T${i}
severity: low
when: { in: [{ var: action }, ${JSON.stringify(pick([["a"], ["b"], ["a", "b"]]))}] }
threshold: { count: ${2 + Math.floor(random() * 4)}, within: ${pick([2, 5, 10, 20])}m, groupBy: [${pick(["actor.id", "target.id", "actor.id, ip"])}] ${distinct ? `, ${distinct}` : ""} }
suppress: ${pick([5, 15, 60])}m
lateness: ${pick([10, 30, 600])}m
`);
  }
  docs.push(`id: p.match\nname: M\nseverity: low\nwhen: { "==": [{ var: action }, b] }\n`);
  for (let i = 0; i < 3; i++) {
    const steps = Array.from({ length: 2 + Math.floor(random() * 2) }, (_, s) => {
      const actions = pick([["a"], ["b"], ["c"], ["a", "b"], ["b", "c"]]);
      return `    - { name: s${s}, when: { in: [{ var: action }, ${JSON.stringify(actions)}] }, count: ${1 + Math.floor(random() * 2)} }`;
    });
    docs.push(`id: p.sequence.${i}
name: S${i}
severity: low
when: { "!=": [{ var: target.id }, target4] }
sequence:
  groupBy: [${pick(["actor.id", "target.id"])}]
  within: ${pick([5, 10, 20])}m
  ordered: ${random() < 0.6}
  steps:
${steps.join("\n")}
suppress: ${pick([5, 15, 60])}m
lateness: ${pick([10, 30, 600])}m
`);
  }
  for (let i = 0; i < 3; i++) {
    const learning = pick(["0", "40m", "90m"]);
    docs.push(`id: p.new-value.${i}
name: N${i}
severity: low
when: { "!=": [{ var: action }, c] }
newValue:
  groupBy: [${pick(["actor.id", "target.id"])}]
  fields: ${pick(["[ip]", "[target.id]", "[ip, target.id]", "[attributes.region]"])}
  learning: ${learning}
  forgetAfter: ${pick([35, 60, 120])}m
  maxValuesPerGroup: ${pick([2, 3, 10000])}
suppress: ${pick([5, 15, 60])}m
lateness: ${pick([10, 30])}m
`);
  }
  const { rules, problems } = parseRules(docs.join("---\n"), "random.yaml");
  expect(problems).toEqual([]);
  return rules;
}

const pick3 = (random: () => number) => (random() < 0.5 ? "a" : random() < 0.6 ? "b" : "c");

function randomEvents(random: () => number, n: number): AuditEvent[] {
  const events = Array.from({ length: n }, (_, i) =>
    event({
      id: `e${i}`,
      time: new Date(T0 + Math.floor(random() * 240 * 4) * (MIN / 4)).toISOString(),
      action: pick3(random),
      actor: { id: `actor${Math.floor(random() * 3)}` },
      target: { id: `target${Math.floor(random() * 5)}` },
      ip: `10.0.0.${Math.floor(random() * 4)}`,
      attributes: random() < 0.8 ? { region: random() < 0.5 ? "us" : "eu" } : {},
    }),
  );
  return [...events, ...events.filter(() => random() < 0.15)];
}

/** An arrival order in which no event comes more than `lateness` after a newer one. */
function orderWithin(events: AuditEvent[], lateness: number, random: () => number): AuditEvent[] {
  return events
    .map((e) => ({ e, key: Date.parse(e.time) + random() * lateness }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.e);
}

function randomBatches(events: AuditEvent[], random: () => number): AuditEvent[][] {
  const batches: AuditEvent[][] = [];
  for (let i = 0; i < events.length; ) {
    const size = 1 + Math.floor(random() * 30);
    batches.push(events.slice(i, i + size));
    i += size;
  }
  return batches;
}

async function run(rules: LoadedRule[], batches: AuditEvent[][], memory: boolean): Promise<BatchOutcome[]> {
  const store = memory
    ? new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS })
    : new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
  const engine = new Engine(rules, store, { now: NOW });
  const outcomes: BatchOutcome[] = [];
  for (const batch of batches) {
    const id = randomUUID();
    outcomes.push(await engine.processBatch(batch, id));
  }
  return outcomes;
}

/**
 * Sequence alerts may show different chains (the definition searches, Redis fills greedily):
 * each chain must satisfy the definition, and everything but the chain must be equal.
 */
function normalize(rules: LoadedRule[], events: AuditEvent[], outcomes: BatchOutcome[]) {
  const byId = new Map(events.map((e) => [e.id, e]));
  const compiled = new Map(rules.map((r) => [r.rule.id, compileRule(r)]));
  const checkChain = (alert: Alert) => {
    const { rule, plan } = compiled.get(alert.ruleId)!;
    const spec = rule.sequence!;
    const times: number[] = [];
    let previousMax = -Infinity;
    const used = new Set<string>();
    for (const [step, { eventIds }] of alert.chain!.entries()) {
      expect(eventIds.length).toBeGreaterThanOrEqual(spec.steps[step]!.count);
      const stepTimes = eventIds.map((id) => {
        const e = byId.get(id)!;
        expect(used.has(id), `${id} used twice`).toBe(false);
        used.add(id);
        const read = plan.read(e)!;
        expect(read.steps, `${id} matches step ${step}`).toContain(step);
        expect(Object.fromEntries(plan.groupPaths.map((path, i) => [path, read.group[i]]))).toEqual(alert.groupKey);
        return Date.parse(e.time);
      });
      if (spec.ordered) expect(Math.min(...stepTimes)).toBeGreaterThanOrEqual(previousMax);
      previousMax = Math.max(...stepTimes);
      times.push(...stepTimes);
    }
    expect(Math.max(...times)).toBe(Date.parse(alert.windowEnd));
    expect(Math.min(...times)).toBe(Date.parse(alert.windowStart));
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(spec.within);
  };
  return outcomes.map((outcome) => ({
    ...outcome,
    alerts: outcome.alerts.map((alert) => {
      if (!alert.chain) return alert;
      checkChain(alert);
      const { chain: _chain, eventIds: _ids, events: _events, windowStart: _start, ...rest } = alert;
      return rest;
    }),
  }));
}

const sequences = new Map<number, number>();
const newValues = new Map<number, number>();

describe("the Redis rule-state store equals the in-memory definition", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: same outcome, batch by batch, in shuffled orders`, async () => {
      const random = seededRandom(seed);
      const rules = randomRules(random);
      const events = randomEvents(random, 160);
      const orders = [
        [...events].sort((a, b) => a.time.localeCompare(b.time)),
        orderWithin(events, 10 * MIN, random),
        shuffle(events, random), // beyond the lateness: some events are refused, identically
      ];
      const within: string[][] = [];
      for (const [o, order] of orders.entries()) {
        const batches = randomBatches(order, random);
        const expected = await run(rules, batches, true);
        const actual = await run(rules, batches, false);
        expect(normalize(rules, events, actual), `seed ${seed} order ${o}`).toEqual(normalize(rules, events, expected));
        // (A newValue rule that forgets values beyond its cap depends on arrival order by design.)
        const capped = new Set(
          rules.filter((r) => (r.rule.newValue?.maxValuesPerGroup ?? Infinity) < 10_000).map((r) => r.rule.id),
        );
        if (o < 2)
          within.push(expected.flatMap((b) => b.alerts.filter((a) => !capped.has(a.ruleId)).map((a) => a.id)).sort());
        newValues.set(
          seed,
          (newValues.get(seed) ?? 0) + expected.flatMap((b) => b.alerts).filter((a) => a.value).length,
        );
        sequences.set(
          seed,
          (sequences.get(seed) ?? 0) + expected.flatMap((b) => b.alerts).filter((a) => a.chain).length,
        );
      }
      expect(within[0]!.length).toBeGreaterThan(5);
      expect(sequences.get(seed) ?? 0).toBeGreaterThan(0);
      expect(newValues.get(seed) ?? 0).toBeGreaterThan(0);
      // Within every rule's lateness, the alerts do not depend on the arrival order.
      expect(within[1]).toEqual(within[0]);
    });
  }
});
