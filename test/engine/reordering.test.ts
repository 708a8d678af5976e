import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DeliveryOrder, type AuditEvent } from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, type LoadedRule } from "@vigil/engine";
import { event, seededRandom, shuffle, useRedis } from "../helpers.js";

// Issue 10: Vigil's own reordering (engine replicas, retries) must never make an event late nor
// lose an alert. A sparse backfill of weeks, delivered by its source in order (with a little
// jitter, within the default lateness), split into batches that the engine applies in reverse
// and in random orders, each batch's watermark mark given at a random later moment (as the
// watermark jobs of a flow run once their batches are done): every alert of the source's order,
// none twice, none refused as late.

const { redis, keyspace } = useRedis();
const HOUR = 3_600_000;
const T0 = Date.parse("2026-03-01T00:00:00Z");
const SOURCE = "backfill";

const RULES = `id: r.threshold
name: Failed logins
severity: low
when: { "==": [{ var: action }, fail] }
threshold: { count: 3, within: 20m, groupBy: [actor.id] }
---
id: r.distinct
name: Many targets
severity: low
when: { "==": [{ var: action }, read] }
threshold: { count: 2, within: 30m, groupBy: [actor.id], distinct: target.id }
---
id: r.sequence
name: Failures then success
severity: low
when: { in: [{ var: action }, [fail, ok]] }
sequence:
  groupBy: [actor.id]
  within: 30m
  steps:
    - { name: failures, when: { "==": [{ var: action }, fail] }, count: 2 }
    - { name: success, when: { "==": [{ var: action }, ok] } }
---
id: r.new-target
name: New target for an actor
severity: low
when: { "==": [{ var: action }, read] }
newValue: { groupBy: [actor.id], fields: [target.id], learning: 2h, forgetAfter: 3h }
`;

function rules(): LoadedRule[] {
  const { rules, problems } = parseRules(RULES, "reordering.yaml");
  expect(problems).toEqual([]);
  return rules;
}

/** Bursts of events a few minutes apart, the bursts hours to days apart; source order = time order give or take 10 minutes. */
function sparseBackfill(random: () => number, count: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let t = T0;
  for (let n = 0; n < count; n++) {
    t += random() < 0.1 ? Math.floor(2 * HOUR + random() * 40 * HOUR) : Math.floor(random() * 6 * 60_000);
    const roll = random();
    events.push(
      event({
        id: `${SOURCE}:${n}`,
        source: SOURCE,
        time: new Date(t).toISOString(),
        action: roll < 0.5 ? "fail" : roll < 0.75 ? "ok" : "read",
        actor: { id: `actor${Math.floor(random() * 4)}` },
        target: { id: `target${Math.floor(random() * 3)}` },
      }),
    );
  }
  const jittered = events
    .map((e) => ({ e, key: Date.parse(e.time) + random() * 10 * 60_000 }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.e);
  // Some events delivered twice, as overlapping re-reads do (a little later).
  return jittered.flatMap((e) => (random() < 0.05 ? [e, e] : [e]));
}

interface Batch {
  events: AuditEvent[];
  lags: Record<string, number> | undefined;
  mark: { seq: number; delivered: number };
}

function batches(events: AuditEvent[], size: number): Batch[] {
  const order = new DeliveryOrder();
  const result: Batch[] = [];
  for (let i = 0; i < events.length; i += size) {
    const chunk = events.slice(i, i + size);
    const lags = order.lags(chunk);
    result.push({ events: chunk, lags, mark: { seq: result.length + 1, delivered: order.newestOf(SOURCE)! } });
  }
  return result;
}

interface Run {
  alertIds: string[];
  late: number;
}

/** Applies the batches in `processing` order; each mark is given after its batch, `delay` batches later (or never, without marks). */
async function apply(
  all: Batch[],
  processing: number[],
  options: { marks: boolean; random?: () => number },
): Promise<Run> {
  const engine = new Engine(
    rules(),
    new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: 50 }),
  );
  const alertIds: string[] = [];
  let late = 0;
  const pendingMarks: Batch["mark"][] = [];
  for (const i of processing) {
    const { events, lags, mark } = all[i]!;
    const outcome = await engine.processBatch(events, randomUUID(), {
      ...(lags ? { lags } : {}),
      ...(options.marks ? { sources: [SOURCE] } : {}),
    });
    alertIds.push(...outcome.alerts.map((a) => `${a.ruleId} ${a.id}`));
    late += outcome.late.length;
    if (!options.marks) continue;
    pendingMarks.push(mark);
    // Watermark jobs finish in their own time: a random number of the pending marks is given now.
    const due = options.random ? Math.floor(options.random() * (pendingMarks.length + 1)) : pendingMarks.length;
    for (const m of shuffle(pendingMarks.splice(0, due), options.random ?? Math.random))
      alertIds.push(...(await engine.advance(SOURCE, m)).alerts.map((a) => `${a.ruleId} ${a.id}`));
  }
  // The last watermark jobs run in the end (newValue verdicts wait for them).
  for (const m of shuffle(pendingMarks, options.random ?? Math.random))
    alertIds.push(...(await engine.advance(SOURCE, m)).alerts.map((a) => `${a.ruleId} ${a.id}`));
  return { alertIds, late };
}

describe("Vigil's own reordering loses nothing (lateness in the source's order, state kept for its marks)", () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: a sparse backfill applied in reverse and random orders raises every alert, once, none late`, async () => {
      const random = seededRandom(seed);
      const all = batches(sparseBackfill(random, 1200), 20);
      const inOrder = all.map((_, i) => i);
      const replay = await apply(all, inOrder, { marks: false });
      expect(replay.late).toBe(0);
      expect(new Set(replay.alertIds).size).toBe(replay.alertIds.length);
      expect(replay.alertIds.length).toBeGreaterThan(30);
      // newValue verdicts (deferred until the watermark passes t − lateness) among them.
      expect(replay.alertIds.filter((id) => id.startsWith("r.new-target ")).length).toBeGreaterThan(5);
      const expected = [...replay.alertIds].sort();

      for (const [what, processing] of [
        ["reversed", [...inOrder].reverse()],
        ["shuffled", shuffle(inOrder, random)],
        ["shuffled again", shuffle(inOrder, random)],
      ] as const) {
        const run = await apply(all, processing, { marks: true, random });
        expect(run.late, `${what}: none refused as late`).toBe(0);
        expect(new Set(run.alertIds).size, `${what}: no alert twice`).toBe(run.alertIds.length);
        expect([...run.alertIds].sort(), `${what}: every alert of the source's order`).toEqual(expected);
      }

      // Without the marks (state kept only from each group's newest), the reversed order loses
      // alerts: what the marks are for.
      const unmarked = await apply(all, [...inOrder].reverse(), { marks: false });
      expect(unmarked.late).toBe(0);
      expect(unmarked.alertIds.length).toBeLessThan(expected.length);
    });
  }
});
