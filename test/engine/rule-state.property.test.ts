import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "@vigil/core";
import { Engine, MemoryRuleStateStore, parseRules, RedisRuleStateStore, type BatchOutcome, type LoadedRule } from "@vigil/engine";
import { event, seededRandom, shuffle, useRedis } from "../helpers.js";

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
  const { rules, problems } = parseRules(docs.join("---\n"), "random.yaml");
  expect(problems).toEqual([]);
  return rules;
}

function randomEvents(random: () => number, n: number): AuditEvent[] {
  const events = Array.from({ length: n }, (_, i) =>
    event({
      id: `e${i}`,
      time: new Date(T0 + Math.floor(random() * 240 * 4) * (MIN / 4)).toISOString(),
      action: random() < 0.6 ? "a" : "b",
      actor: { id: `actor${Math.floor(random() * 3)}` },
      target: { id: `target${Math.floor(random() * 5)}` },
      ip: `10.0.0.${Math.floor(random() * 2)}`,
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
  const store = memory ? new MemoryRuleStateStore({ maxEventIds: 50 }) : new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: 50 });
  const engine = new Engine(rules, store, { now: NOW });
  const outcomes: BatchOutcome[] = [];
  for (const batch of batches) {
    const id = randomUUID();
    outcomes.push(await engine.processBatch(batch, id));
  }
  return outcomes;
}

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
        expect(actual, `seed ${seed} order ${o}`).toEqual(expected);
        if (o < 2) within.push(expected.flatMap((b) => b.alerts.map((a) => a.id)).sort());
      }
      expect(within[0]!.length).toBeGreaterThan(5);
      // Within every rule's lateness, the alerts do not depend on the arrival order.
      expect(within[1]).toEqual(within[0]);
    });
  }
});
