import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_ALERT_EVENT_IDS, type Alert, type AuditEvent } from "@vigil/core";
import {
  Engine,
  MemoryRuleStateStore,
  parseRules,
  RedisRuleStateStore,
  type LoadedRule,
  type SourceIdentity,
} from "@vigil/engine";
import { seededRandom, shuffle, useRedis } from "../helpers.js";
import { feedOf, MIN, quietBounds, T0, type SourceFeed } from "./source-feeds.js";

// Deployments have many sources: some busy, one quiet (it delivers a little, then only moves its
// bound, as a quiet Pylon workspace or a file nobody appends to), one removed from the
// configuration half-way. Each delivers its own batches in its own order with its own marks;
// Vigil applies them interleaved, out of order, with marks given at random later points, and the
// engine is rebuilt without the removed source half-way (a config change). The Redis store must
// give the in-memory definition's outcome batch by batch, and the absence and newValue alerts must
// be exactly those of a brute-force reading of their definitions over every accepted event.

const { redis, keyspace } = useRedis();
const NOW = () => new Date("2026-03-02T00:00:00Z");
const LATENESS = 10 * MIN;

const SOURCES: SourceIdentity[] = [
  { name: "zd-1", provider: "zendesk" },
  { name: "zd-2", provider: "zendesk" },
  { name: "pylon-quiet", provider: "pylon" },
  { name: "files", provider: undefined },
];
const REMOVED = "zd-2";

interface RuleSpec {
  id: string;
  kind: "absence" | "newValue";
  provider?: string;
  within: number;
  suppress: number;
  learning?: number;
  forget?: number;
}

function randomRules(random: () => number): { loaded: LoadedRule[]; specs: RuleSpec[] } {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const docs: string[] = [];
  const specs: RuleSpec[] = [];
  for (const [i, provider] of ["zendesk", "pylon", undefined, undefined].entries()) {
    const pin = provider ? `{ "==": [{ var: provider }, ${provider}] }, ` : "";
    const within = pick([10, 20, 40]) * MIN;
    const suppress = pick([5, 30, 60]) * MIN;
    docs.push(`id: m.absence.${i}
name: A${i}
severity: low
when: { and: [${pin}{ in: [{ var: action }, [open, close]] }] }
absence: { groupBy: [target.id], after: { "==": [{ var: action }, open] }, expect: { "==": [{ var: action }, close] }, within: ${within / MIN}m }
suppress: ${suppress / MIN}m
lateness: ${LATENESS / MIN}m
`);
    specs.push({ id: `m.absence.${i}`, kind: "absence", ...(provider ? { provider } : {}), within, suppress });
    const learning = pick([0, 30]) * MIN;
    const forget = pick([40, 90]) * MIN;
    docs.push(`id: m.new-value.${i}
name: N${i}
severity: low
when: { and: [${pin}{ "!=": [{ var: action }, close] }] }
newValue: { groupBy: [actor.id], fields: [ip], learning: ${learning ? `${learning / MIN}m` : 0}, forgetAfter: ${forget / MIN}m }
suppress: ${suppress / MIN}m
lateness: ${LATENESS / MIN}m
`);
    specs.push({
      id: `m.new-value.${i}`,
      kind: "newValue",
      ...(provider ? { provider } : {}),
      within,
      suppress,
      learning,
      forget,
    });
  }
  docs.push(`id: m.threshold
name: T
severity: low
when: { "==": [{ var: action }, open] }
threshold: { count: 3, within: 15m, groupBy: [actor.id] }
lateness: ${LATENESS / MIN}m
`);
  const { rules, problems } = parseRules(docs.join("---\n"), "multi.yaml");
  expect(problems).toEqual([]);
  return { loaded: rules, specs };
}

async function run(
  rules: LoadedRule[],
  feeds: SourceFeed[],
  memory: boolean,
  seed: number,
  shards = 1,
): Promise<{ outcomes: unknown[]; alerts: Alert[]; applied: AuditEvent[] }> {
  const store = memory
    ? new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS })
    : new RedisRuleStateStore(redis, keyspace(), {
        seenTtlMs: 3_600_000,
        maxEventIds: MAX_ALERT_EVENT_IDS,
        decisionBudget: 7,
        shards,
      });
  let engine = new Engine(rules, store, { now: NOW, sources: SOURCES });
  const random = seededRandom(seed);
  // Interleaved: each step applies a random source's next batch, or (out of its order) a later one.
  const queues = feeds.map((feed) => [...feed.batches]);
  const pending: { source: string; mark: SourceFeed["batches"][number]["mark"] }[] = [];
  const outcomes: unknown[] = [];
  const alerts: Alert[] = [];
  const applied: AuditEvent[] = [];
  let steps = 0;
  const total = queues.reduce((sum, q) => sum + q.length, 0);
  const removed = feeds.find((feed) => feed.source === REMOVED)!;
  while (queues.some((q) => q.length)) {
    const live = queues
      .map((q, i) => ({ q, i }))
      .filter(({ q, i }) => q.length && (steps < total / 2 || feeds[i]!.source !== REMOVED));
    if (live.length === 0) break;
    const { q, i } = live[Math.floor(random() * live.length)]!;
    const at = random() < 0.3 ? Math.floor(random() * Math.min(3, q.length)) : 0;
    const [batch] = q.splice(at, 1);
    const source = feeds[i]!.source;
    if (batch!.events.length) {
      applied.push(...batch!.events);
      const outcome = await engine.processBatch(batch!.events, randomUUID(), {
        sources: [source],
        ...(batch!.lags ? { lags: batch!.lags } : {}),
      });
      outcomes.push(outcome);
      alerts.push(...outcome.alerts);
    }
    pending.push({ source, mark: batch!.mark });
    for (const give of shuffle(pending.splice(0, Math.floor(random() * (pending.length + 1))), random)) {
      if (steps >= total / 2 && give.source === REMOVED) continue;
      const decided = await engine.advance(give.source, give.mark);
      outcomes.push(decided);
      alerts.push(...decided.alerts);
    }
    steps++;
    if (steps === Math.ceil(total / 2)) {
      // The removed source leaves the configuration: every role restarts without it.
      queues[feeds.indexOf(removed)]!.length = 0;
      engine = new Engine(rules, store, { now: NOW, sources: SOURCES.filter((s) => s.name !== REMOVED) });
    }
  }
  for (const give of pending) {
    if (steps >= total / 2 && give.source === REMOVED) continue;
    const decided = await engine.advance(give.source, give.mark);
    outcomes.push(decided);
    alerts.push(...decided.alerts);
  }
  return { outcomes, alerts, applied };
}

/** An outcome with its alerts sorted by id: their order within one batch carries no meaning. */
function alertsInAnyOrder(outcome: unknown): unknown {
  const { alerts, ...rest } = outcome as { alerts: Alert[] };
  return { ...rest, alerts: [...alerts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

/** Brute force over every event applied: the (rule, group, span, value) of each alert the definitions raise. */
function bruteForce(specs: RuleSpec[], applied: AuditEvent[]): string[] {
  const unique = [...new Map(applied.map((e) => [e.id, e])).values()];
  const out: string[] = [];
  for (const spec of specs) {
    const events = unique.filter((e) => {
      if (spec.provider && e.provider !== spec.provider) return false;
      return spec.kind === "absence" ? ["open", "close"].includes(e.action) : e.action !== "close";
    });
    const t = (e: AuditEvent) => Date.parse(e.time);
    if (spec.kind === "absence") {
      const fired = new Set<string>();
      for (const a of events.filter((e) => e.action === "open")) {
        const answered = events.some(
          (b) => b.action === "close" && b.target.id === a.target.id && t(b) >= t(a) && t(b) < t(a) + spec.within,
        );
        if (!answered) fired.add(`${spec.id} ${a.target.id} ${Math.floor(t(a) / spec.suppress)}`);
      }
      out.push(...fired);
    } else {
      const fired = new Set<string>();
      for (const e of events) {
        const group = events.filter((g) => g.actor.id === e.actor.id);
        const learned = spec.learning === 0 || group.some((g) => t(g) <= t(e) - spec.learning!);
        const seen = group.some((g) => g.ip === e.ip && t(g) >= t(e) - spec.forget! && t(g) < t(e) - LATENESS);
        if (learned && !seen) fired.add(`${spec.id} ${e.actor.id} ${Math.floor(t(e) / spec.suppress)} ${e.ip}`);
      }
      out.push(...fired);
    }
  }
  return out.sort();
}

/** The (rule, group, span, value) of each absence and newValue alert raised. */
function raisedKeys(specs: RuleSpec[], alerts: Alert[]): string[] {
  return alerts
    .map((alert) => {
      const spec = specs.find((s) => s.id === alert.ruleId);
      if (!spec) return undefined;
      const span = Math.floor(Date.parse(alert.windowStart) / spec.suppress);
      return spec.kind === "absence"
        ? `${spec.id} ${String(alert.groupKey["target.id"])} ${span}`
        : `${spec.id} ${String(alert.groupKey["actor.id"])} ${span} ${String((alert.evidence?.value as Record<string, unknown> | undefined)?.ip)}`;
    })
    .filter((key): key is string => key !== undefined)
    .sort();
}

describe("many sources, one quiet, one removed: Redis equals the definition", () => {
  for (const seed of [11, 12, 13, 14]) {
    it(`seed ${seed}`, async () => {
      const random = seededRandom(seed);
      const { loaded, specs } = randomRules(random);
      const until = 240 * MIN;
      const feeds = SOURCES.map((source) =>
        source.name === "pylon-quiet"
          ? feedOf(source, random, 6, 60 * MIN, LATENESS)
          : feedOf(source, random, 70, until, LATENESS),
      );
      quietBounds(feeds.find((f) => f.source === "pylon-quiet")!, until, random);
      // The end: every remaining source says nothing more will come (a file read to its end).
      for (const feed of feeds)
        if (feed.source !== REMOVED)
          feed.batches.push({ events: [], mark: { seq: feed.batches.length + 1, bound: T0 + 10 * until } });

      const runSeed = Math.floor(random() * 1e9);
      const expected = await run(loaded, feeds, true, runSeed);
      const actual = await run(loaded, feeds, false, runSeed);
      expect(actual.outcomes).toEqual(expected.outcomes);
      // Spread over rule-state shards: the same outcomes (alerts within a batch in any order).
      const sharded = await run(loaded, feeds, false, runSeed, 3);
      expect(sharded.outcomes.map(alertsInAnyOrder)).toEqual(expected.outcomes.map(alertsInAnyOrder));
      // Every decision was taken (nothing stalls on the quiet or the removed source), and the
      // alerts are exactly the definitions' over the events applied.
      const raised = raisedKeys(specs, actual.alerts);
      expect(raised.length).toBeGreaterThan(3);
      expect(raised).toEqual(bruteForce(specs, actual.applied));
      expect(new Set(raised).size).toBe(raised.length);
    }, 120_000);
  }
});
