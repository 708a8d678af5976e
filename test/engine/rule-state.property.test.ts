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
import { DeliveryOrder } from "@vigil/core";
import { event, seededRandom, shuffle, useRedis } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS } from "@vigil/core";

// The Redis store against the in-memory definition: random rules, random events with
// duplicates, delivered by their source in shuffled orders (within the lateness, and beyond it),
// split into random batches, which Vigil then applies in the source's order, in reverse and in
// a random order (its own reordering: replicas, retries). Every batch's outcome must be
// identical, and the alerts and late events the same whatever the processing order.

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T00:00:00Z");
const MIN = 60_000;
const NOW = () => new Date("2026-03-02T00:00:00Z");

function randomRules(random: () => number): LoadedRule[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const docs: string[] = [];
  for (let i = 0; i < 4; i++) {
    const distinct = random() < 0.4 ? "distinct: target.id" : "";
    const when = JSON.stringify(pick([["a"], ["b"], ["a", "b"]]));
    const groupBy = pick(["actor.id", "target.id", "actor.id, ip"]);
    const lateness = pick([10, 30, 600]);
    // Tiers: rules that count the same events with other counts and windows share one log.
    const tiers = random() < 0.5 ? 2 : 1;
    for (let tier = 0; tier < tiers; tier++) {
      docs.push(`id: p.threshold.${i}.${tier}
name: T${i}
severity: low
when: { in: [{ var: action }, ${when}] }
threshold: { count: ${2 + Math.floor(random() * 4)}, within: ${pick([2, 5, 10, 20])}m, groupBy: [${groupBy}] ${distinct ? `, ${distinct}` : ""} }
suppress: ${pick([5, 15, 60])}m
lateness: ${lateness}m
`);
    }
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

interface Delivered {
  events: AuditEvent[];
  lags: Record<string, number> | undefined;
  /** The source's mark once this batch (and every one before it in the source's order) is applied. */
  mark: { seq: number; delivered: number };
}

/** Batches in their source's order, with each event's lag in that order and each batch's mark. */
function deliver(batches: AuditEvent[][]): Delivered[] {
  const order = new DeliveryOrder();
  return batches.map((events, i) => {
    const lags = order.lags(events);
    return { events, lags, mark: { seq: i + 1, delivered: order.newestOf(events[0]!.source)! } };
  });
}

/**
 * Applies the batches in `processing` order (indexes into `delivered`). `marks`: the batches name
 * their source and each batch's mark is given to the engine at a random later point (`markSeed`
 * draws how many of the marks pending are given after each batch, in a random order; the rest at
 * the end), as watermark jobs finish in their own time; the alerts a mark decides come as an
 * outcome of their own. Without, nothing names a source (right only in the source's order).
 */
async function run(
  rules: LoadedRule[],
  delivered: Delivered[],
  processing: number[],
  memory: boolean,
  marks: boolean,
  markSeed = 0,
  shards = 1,
): Promise<BatchOutcome[]> {
  const store = memory
    ? new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS })
    : new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS, shards });
  const engine = new Engine(rules, store, { now: NOW });
  const outcomes: BatchOutcome[] = [];
  const random = seededRandom(markSeed);
  const pending: { source: string; mark: Delivered["mark"] }[] = [];
  const give = async (count: number) => {
    for (const { source, mark } of shuffle(pending.splice(0, count), random)) {
      const { alerts } = await engine.advance(source, mark);
      outcomes.push({ alerts, unmatched: 0, duplicates: 0, late: [] });
    }
  };
  for (const i of processing) {
    const { events, lags, mark } = delivered[i]!;
    outcomes.push(
      await engine.processBatch(events, randomUUID(), {
        ...(lags ? { lags } : {}),
        ...(marks ? { sources: [events[0]!.source] } : {}),
      }),
    );
    if (!marks) continue;
    pending.push({ source: events[0]!.source, mark });
    await give(Math.floor(random() * (pending.length + 1)));
  }
  await give(pending.length);
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
    const chain = alert.evidence!.chain as { name: string; eventIds: string[] }[];
    for (const [step, { eventIds }] of chain.entries()) {
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
      if (alert.evidence?.kind !== "sequence") return alert;
      checkChain(alert);
      const { evidence: _chain, eventIds: _ids, events: _events, windowStart: _start, ...rest } = alert;
      return rest;
    }),
  }));
}

/** Outcomes with each batch's alerts sorted by id: their order within one batch carries no meaning. */
function inAnyOrder<T extends { alerts: { id: string }[] }>(outcomes: T[]): T[] {
  return outcomes.map((o) => ({
    ...o,
    alerts: [...o.alerts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
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
        const delivered = deliver(randomBatches(order, random));
        const inOrder = delivered.map((_, i) => i);
        // Vigil's own reordering (replicas, retries): the source's batches applied in reverse and
        // in a random order, each with its mark; the alerts must be those of the source's order.
        const processings = [
          { processing: inOrder, marks: false },
          { processing: [...inOrder].reverse(), marks: true },
          { processing: shuffle(inOrder, random), marks: true },
          { processing: inOrder, marks: true },
        ];
        // (A newValue rule that forgets values beyond its cap depends on arrival order by design.)
        const capped = new Set(
          rules.filter((r) => (r.rule.newValue?.maxValuesPerGroup ?? Infinity) < 10_000).map((r) => r.rule.id),
        );
        const ids: string[][] = [];
        const lates: string[][] = [];
        for (const [p, { processing, marks }] of processings.entries()) {
          const markSeed = Math.floor(random() * 1e9);
          const expected = await run(rules, delivered, processing, true, marks, markSeed);
          const actual = await run(rules, delivered, processing, false, marks, markSeed);
          expect(normalize(rules, events, actual), `seed ${seed} order ${o} processing ${p}`).toEqual(
            normalize(rules, events, expected),
          );
          // Spread over rule-state shards: the same outcomes (alerts within a batch in any order).
          const sharded = await run(rules, delivered, processing, false, marks, markSeed, 4);
          expect(
            inAnyOrder(normalize(rules, events, sharded)),
            `seed ${seed} order ${o} processing ${p}, 4 shards`,
          ).toEqual(inAnyOrder(normalize(rules, events, expected)));
          // newValue verdicts wait until final (the watermark passes t − lateness): the same alerts
          // in every order, but for rules that forget values beyond their cap (arrival order by design).
          ids.push(expected.flatMap((b) => b.alerts.filter((a) => !capped.has(a.ruleId)).map((a) => a.id)).sort());
          lates.push(expected.flatMap((b) => b.late.map((l) => `${l.ruleId} ${l.eventId}`)).sort());
          if (p > 0) continue;
          if (o < 2)
            within.push(expected.flatMap((b) => b.alerts.filter((a) => !capped.has(a.ruleId)).map((a) => a.id)).sort());
          newValues.set(
            seed,
            (newValues.get(seed) ?? 0) +
              expected.flatMap((b) => b.alerts).filter((a) => a.evidence?.kind === "newValue").length,
          );
          sequences.set(
            seed,
            (sequences.get(seed) ?? 0) +
              expected.flatMap((b) => b.alerts).filter((a) => a.evidence?.kind === "sequence").length,
          );
        }
        expect(new Set(ids[1]), `seed ${seed} order ${o}: reversed`).toEqual(new Set(ids[0]));
        expect(new Set(ids[2]), `seed ${seed} order ${o}: random`).toEqual(new Set(ids[0]));
        expect(new Set(ids[3]), `seed ${seed} order ${o}: in order, marks later`).toEqual(new Set(ids[0]));
        expect(lates[1], `seed ${seed} order ${o}: late when reversed`).toEqual(lates[0]);
        expect(lates[2], `seed ${seed} order ${o}: late in a random order`).toEqual(lates[0]);
        expect(lates[3], `seed ${seed} order ${o}: late, marks later`).toEqual(lates[0]);
      }
      expect(within[0]!.length).toBeGreaterThan(5);
      expect(sequences.get(seed) ?? 0).toBeGreaterThan(0);
      expect(newValues.get(seed) ?? 0).toBeGreaterThan(0);
      // Within every rule's lateness, the alerts do not depend on the arrival order.
      expect(within[1]).toEqual(within[0]);
    });
  }
});
