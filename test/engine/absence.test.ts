import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DeliveryOrder, type Alert, type AuditEvent } from "@vigil/core";
import {
  Engine,
  MemoryRuleStateStore,
  parseRules,
  RedisRuleStateStore,
  type LoadedRule,
  type RuleStateStore,
} from "@vigil/engine";
import { event, seededRandom, shuffle, useRedis } from "../helpers.js";

// absence rules: the Redis store against the in-memory definition, over random events delivered
// by their source in shuffled orders within the lateness, with duplicates, split into random
// batches that the engine applies in the source's order, reversed and shuffled, each batch's mark
// given at a random later moment. Same alerts step by step, and the same alerts whatever the
// processing order; and every alert is right by the definition over the whole event set.

const { redis, keyspace } = useRedis();
const MIN = 60_000;
const T0 = Date.parse("2026-03-01T00:00:00Z");
const SOURCE = "s";

function randomRules(random: () => number): LoadedRule[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const docs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const silence = i === 2;
    docs.push(`id: p.absence.${i}
name: A${i}
severity: low
when: { "!=": [{ var: action }, z] }
absence:
  groupBy: [${pick(["actor.id", "target.id"])}]
${silence ? "" : `  after: { "==": [{ var: action }, a] }\n  expect: { in: [{ var: action }, ${JSON.stringify(pick([["b"], ["b", "c"]]))}] }\n`}  within: ${pick([10, 20, 45])}m
suppress: ${pick([5, 30, 60])}m
lateness: ${pick([10, 30])}m
title: "{{actor.id}} {{action}}"
`);
  }
  const { rules, problems } = parseRules(docs.join("---\n"), "absence.yaml");
  expect(problems).toEqual([]);
  return rules;
}

function randomEvents(random: () => number, n: number): AuditEvent[] {
  const events = Array.from({ length: n }, (_, i) =>
    event({
      id: `e${i}`,
      source: SOURCE,
      time: new Date(T0 + Math.floor(random() * 360 * 2) * (MIN / 2)).toISOString(),
      action: random() < 0.35 ? "a" : random() < 0.5 ? "b" : random() < 0.8 ? "c" : "z",
      actor: { id: `actor${Math.floor(random() * 3)}` },
      target: { id: `target${Math.floor(random() * 4)}` },
    }),
  );
  // Delivered in time order give or take 10 minutes (within every rule's lateness), some twice.
  const order = events
    .map((e) => ({ e, key: Date.parse(e.time) + random() * 10 * MIN }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.e);
  return order.flatMap((e) => (random() < 0.1 ? [e, e] : [e]));
}

interface Step {
  events: AuditEvent[];
  lags: Record<string, number> | undefined;
  mark: { seq: number; delivered: number };
}

function steps(events: AuditEvent[], random: () => number): Step[] {
  const order = new DeliveryOrder();
  const result: Step[] = [];
  for (let i = 0; i < events.length; ) {
    const size = 1 + Math.floor(random() * 25);
    const chunk = events.slice(i, i + size);
    i += size;
    result.push({
      events: chunk,
      lags: order.lags(chunk),
      mark: { seq: result.length + 1, delivered: order.newestOf(SOURCE)! },
    });
  }
  return result;
}

/** The alert ids (per call: batch or mark) of one processing order; marks given at `delays`. */
async function run(
  rules: LoadedRule[],
  all: Step[],
  processing: number[],
  giveNow: number[],
  store: RuleStateStore,
): Promise<{ perCall: string[][]; alerts: Alert[] }> {
  const engine = new Engine(rules, store);
  const perCall: string[][] = [];
  const alerts: Alert[] = [];
  const pending: Step["mark"][] = [];
  const note = (raised: Alert[]) => {
    perCall.push(raised.map((a) => a.id));
    alerts.push(...raised);
  };
  for (const [k, i] of processing.entries()) {
    const { events, lags, mark } = all[i]!;
    const outcome = await engine.processBatch(events, randomUUID(), { sources: [SOURCE], ...(lags ? { lags } : {}) });
    expect(outcome.late).toEqual([]);
    note(outcome.alerts);
    pending.push(mark);
    for (const m of pending.splice(0, giveNow[k]!)) note((await engine.advance(SOURCE, m, randomUUID())).alerts);
  }
  for (const m of pending.splice(0)) note((await engine.advance(SOURCE, m, randomUUID())).alerts);
  // End of input: the watermark reaches the last event.
  const last = Math.max(...all.flatMap((s) => s.events.map((e) => Date.parse(e.time))));
  note((await engine.advance(SOURCE, { seq: all.length + 1, bound: last }, randomUUID())).alerts);
  return { perCall, alerts };
}

/** Definition over the whole set: which (rule, group, span) alert, given the final watermark. */
function expectedAlerts(rules: LoadedRule[], events: AuditEvent[]): Set<string> {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  const last = Math.max(...unique.map((e) => Date.parse(e.time)));
  const keys = new Set<string>();
  for (const { rule } of rules) {
    const spec = rule.absence!;
    const path = spec.groupBy[0]!.split(".");
    const groupOf = (e: AuditEvent) => (e as unknown as Record<string, Record<string, string>>)[path[0]!]![path[1]!];
    const matching = unique.filter((e) => e.action !== "z");
    const silence = spec.after === undefined;
    const isAnchor = (e: AuditEvent) => silence || e.action === "a";
    const expected = (e: AuditEvent) =>
      silence || ((spec.expect as { in: [unknown, string[]] }).in[1] as string[]).includes(e.action);
    const fired = new Map<string, number>();
    const anchors = matching
      .filter((e) => isAnchor(e) && Date.parse(e.time) + spec.within <= last)
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    for (const a of anchors) {
      const t = Date.parse(a.time);
      const found = matching.some(
        (b) =>
          groupOf(b) === groupOf(a) &&
          expected(b) &&
          Date.parse(b.time) < t + spec.within &&
          (silence ? Date.parse(b.time) > t : Date.parse(b.time) >= t),
      );
      if (!found) keys.add(`${rule.id} ${groupOf(a)} ${Math.floor(t / (rule.suppress ?? spec.within))}`);
      fired.set(a.id, t);
    }
  }
  return keys;
}

const alertKey = (rules: LoadedRule[], alert: Alert) => {
  const rule = rules.find((r) => r.rule.id === alert.ruleId)!.rule;
  const within = rule.absence!.within;
  return `${alert.ruleId} ${Object.values(alert.groupKey)[0]} ${Math.floor((Date.parse(alert.windowEnd) - within) / (rule.suppress ?? within))}`;
};

describe("absence rules: Redis equals the definition, whatever order batches and marks come in", () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}`, async () => {
      const random = seededRandom(seed);
      const rules = randomRules(random);
      const events = randomEvents(random, 220);
      const all = steps(events, random);
      const inOrder = all.map((_, i) => i);
      const expected = expectedAlerts(rules, events);
      expect(expected.size).toBeGreaterThan(3);
      for (const processing of [inOrder, [...inOrder].reverse(), shuffle(inOrder, random)]) {
        const giveNow = processing.map(() => Math.floor(random() * 3));
        const memory = await run(rules, all, processing, giveNow, new MemoryRuleStateStore({ maxEventIds: 50 }));
        const actual = await run(
          rules,
          all,
          processing,
          giveNow,
          new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: 50 }),
        );
        expect(actual.perCall).toEqual(memory.perCall);
        expect(new Set(actual.alerts.map((a) => a.id)).size).toBe(actual.alerts.length);
        expect(new Set(actual.alerts.map((a) => alertKey(rules, a)))).toEqual(expected);
      }
    });
  }
});
