import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createRedis, Keyspace, MAX_ALERT_EVENT_IDS, type Alert } from "@vigil/core";
import {
  Engine,
  MemoryRuleStateStore,
  parseRules,
  RedisRuleStateStore,
  type LoadedRule,
  type RuleStateStore,
  type SourceIdentity,
} from "@vigil/engine";
import { startRedisServer, type OwnRedisServer } from "../faults/redis-server.js";
import { seededRandom, shuffle } from "../helpers.js";
import { feedOf, MIN, quietBounds, T0, type SourceFeed } from "./source-feeds.js";

// Wall-clock time passes between batches, as in a deployment that stalls for hours or leaves a
// failed batch overnight. Redis expires keys by their TTLs; the in-memory store models the same
// expiry by its clock. The test moves Redis's clock forward by D without waiting (D is taken off
// every TTL in the run's keyspace; a key whose TTL runs out is deleted, keys without a TTL are left
// alone) and the memory store's clock by the same D: both stores must give the same outcomes,
// batch by batch and mark by mark. D is a whole number of minutes, like every TTL here, so the
// few milliseconds the run itself takes never decide an expiry. And at every step, every pending
// absence anchor and newValue candidate still has what its decision reads, with no TTL on it.
// On a redis-server of its own: the keyspace is scanned at every step.

let server: OwnRedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis(server.url);
});
afterAll(async () => {
  await redis?.quit();
  await server?.dispose();
});
const NOW = () => new Date("2026-03-02T00:00:00Z");
const LATENESS = 10 * MIN;
const SEEN_TTL = 120 * MIN;
const BATCH_TTL = 240 * MIN;
/** Wall-clock minutes passing between steps: often none, some below every rule's ttl (140–380 minutes), some beyond. */
const JUMPS = [0, 0, 0, 1, 10, 45, 90, 150, 200, 300, 400, 900];

const SOURCES: SourceIdentity[] = [
  { name: "zd-1", provider: "zendesk" },
  { name: "zd-2", provider: "zendesk" },
  { name: "pylon-quiet", provider: "pylon" },
];

const RULES = `id: x.absence
name: Opened, not closed
severity: low
when: { in: [{ var: action }, [open, close]] }
absence: { groupBy: [target.id], after: { "==": [{ var: action }, open] }, expect: { "==": [{ var: action }, close] }, within: 20m }
suppress: 30m
lateness: 10m
---
id: x.absence.zendesk
name: Opened, not closed (Zendesk)
severity: low
when: { and: [{ "==": [{ var: provider }, zendesk] }, { in: [{ var: action }, [open, close]] }] }
absence: { groupBy: [target.id], after: { "==": [{ var: action }, open] }, expect: { "==": [{ var: action }, close] }, within: 40m }
suppress: 5m
lateness: 10m
---
id: x.new-value
name: New IP
severity: low
when: { "!=": [{ var: action }, close] }
newValue: { groupBy: [actor.id], fields: [ip], learning: 30m, forgetAfter: 90m }
suppress: 60m
lateness: 10m
---
id: x.new-value.eager
name: New IP, no learning
severity: low
when: { "==": [{ var: action }, login] }
newValue: { groupBy: [actor.id], fields: [ip], learning: 0, forgetAfter: 40m }
suppress: 5m
lateness: 10m
---
id: x.threshold.short
name: Opens, short
severity: low
when: { "==": [{ var: action }, open] }
threshold: { count: 3, within: 15m, groupBy: [actor.id] }
lateness: 10m
---
id: x.threshold.long
name: Opens, long (the same log as the short one)
severity: low
when: { "==": [{ var: action }, open] }
threshold: { count: 5, within: 60m, groupBy: [actor.id] }
lateness: 10m
---
id: x.sequence
name: Open then close
severity: low
when: { in: [{ var: action }, [open, close]] }
sequence:
  groupBy: [actor.id]
  within: 30m
  steps:
    - { name: opened, when: { "==": [{ var: action }, open] } }
    - { name: closed, when: { "==": [{ var: action }, close] } }
lateness: 10m
---
id: x.match
name: Login from 10.0.0.1
severity: low
when: { and: [{ "==": [{ var: action }, login] }, { "==": [{ var: ip }, 10.0.0.1] }] }
`;

/** Moves the keyspace's wall clock forward by `ms`: every TTL less `ms`, a key deleted when that runs out. */
async function passTime(space: Keyspace, ms: number): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${space.tag}:*`, "COUNT", 1000);
    cursor = next;
    const ttls = await Promise.all(keys.map((key) => redis.pttl(key)));
    await Promise.all(
      keys.map((key, i) => {
        const ttl = ttls[i]!;
        if (ttl < 0) return undefined;
        if (ttl - ms > 0) return redis.pexpire(key, ttl - ms);
        deleted++;
        return redis.del(key);
      }),
    );
  } while (cursor !== "0");
  return deleted;
}

/** Members of every key of the keyspace that ends with `suffix`, by key. */
async function membersOf(space: Keyspace, suffix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${space.tag}:rs:*${suffix}`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) out.set(key.slice(0, -suffix.length), await redis.zrange(key, 0, -1));
  } while (cursor !== "0");
  return out;
}

/**
 * Every pending decision still has what it reads, kept without a TTL: an absence anchor its group's
 * events (its own among them), as every group held for a decision, and a newValue candidate its
 * group's state and its value's events.
 * Returns how many pending decisions it checked.
 */
async function checkPending(space: Keyspace): Promise<number> {
  let checked = 0;
  for (const [rk, members] of await membersOf(space, ":dl"))
    for (const member of members) {
      const sep = member.indexOf("|");
      const events = `${rk}:${member.slice(0, sep)}:e`;
      expect(await redis.pttl(events), `${events} for anchor ${member}`).toBe(-1);
      expect(await redis.zscore(events, `1:${member.slice(sep + 1)}`), `anchor ${member} in ${events}`).not.toBeNull();
      checked++;
    }
  for (const [rk, groups] of await membersOf(space, ":hold"))
    for (const group of groups)
      for (const part of [":e", ":f"])
        expect(await redis.pttl(`${rk}:${group}${part}`), `${part} of held group ${group}`).toBeLessThan(0);
  for (const [rk, members] of await membersOf(space, ":nd"))
    for (const member of members) {
      const [group, value, id] = member.split("|") as [string, string, string];
      for (const part of [":h", ":v", `:o:${value}`])
        expect(await redis.pttl(`${rk}:${group}${part}`), `${part} for candidate ${member}`).toBe(-1);
      expect(await redis.zscore(`${rk}:${group}:o:${value}`, id), `candidate ${member}`).not.toBeNull();
      checked++;
    }
  return checked;
}

interface Clock {
  /** Lets `ms` of wall-clock time pass; returns the keys that expired (Redis). */
  pass(ms: number): Promise<number>;
  /** Checks the pending decisions' state (Redis); returns how many it checked. */
  check(): Promise<number>;
}

function memoryStore(frozen: boolean): { store: RuleStateStore; clock: Clock } {
  let now = Date.now();
  const store = new MemoryRuleStateStore({
    maxEventIds: MAX_ALERT_EVENT_IDS,
    seenTtlMs: SEEN_TTL,
    batchTtlMs: BATCH_TTL,
    now: () => now,
  });
  return {
    store,
    clock: {
      pass: async (ms) => {
        if (!frozen) now += ms;
        return 0;
      },
      check: async () => 0,
    },
  };
}

function redisStore(): { store: RuleStateStore; clock: Clock } {
  const space = new Keyspace(`expiry-${randomUUID()}`);
  const store = new RedisRuleStateStore(redis, space, {
    seenTtlMs: SEEN_TTL,
    batchTtlMs: BATCH_TTL,
    maxEventIds: MAX_ALERT_EVENT_IDS,
    decisionBudget: 7,
  });
  return { store, clock: { pass: (ms) => passTime(space, ms), check: () => checkPending(space) } };
}

async function run(
  rules: LoadedRule[],
  feeds: SourceFeed[],
  { store, clock }: { store: RuleStateStore; clock: Clock },
  seed: number,
): Promise<{ outcomes: unknown[]; expired: number; checked: number; retried: number }> {
  const engine = new Engine(rules, store, { now: NOW, sources: SOURCES });
  const random = seededRandom(seed);
  const queues = feeds.map((feed) => [...feed.batches]);
  const pending: { source: string; mark: SourceFeed["batches"][number]["mark"] }[] = [];
  const outcomes: unknown[] = [];
  let expired = 0;
  let checked = 0;
  let retried = 0;
  const apply = async (id: string, source: string, batch: SourceFeed["batches"][number]) => {
    outcomes.push(
      await engine.processBatch(batch.events, id, { sources: [source], ...(batch.lags ? { lags: batch.lags } : {}) }),
    );
  };
  const give = async (marks: typeof pending) => {
    for (const { source, mark } of marks) outcomes.push(await engine.advance(source, mark));
  };
  while (queues.some((q) => q.length)) {
    const live = queues.flatMap((q, i) => (q.length ? [i] : []));
    const i = live[Math.floor(random() * live.length)]!;
    const batch = queues[i]!.shift()!;
    const source = feeds[i]!.source;
    const id = randomUUID();
    if (batch.events.length) await apply(id, source, batch);
    pending.push({ source, mark: batch.mark });
    await give(shuffle(pending.splice(0, Math.floor(random() * (pending.length + 1))), random));
    expired += await clock.pass(JUMPS[Math.floor(random() * JUMPS.length)]! * MIN);
    checked += await clock.check();
    // The batch retried (a job re-driven) while its mark waits: its first result while batchTtl
    // keeps it, else applied again, its events duplicates where their state has not expired. (A
    // batch whose mark was applied is not retried: the watermark has promised its events are in.)
    if (batch.events.length && pending.some((p) => p.mark === batch.mark) && random() < 0.3) {
      await apply(id, source, batch);
      retried++;
    }
  }
  await give(pending);
  checked += await clock.check();
  return { outcomes, expired, checked, retried };
}

/**
 * Outcomes with each sequence alert's chain left out: when several chains end a window, the
 * definition and Redis may show different ones (rule-state.property.test.ts checks each is one).
 */
function withoutChains(outcomes: unknown[]): unknown[] {
  return outcomes.map((outcome) => {
    const { alerts, ...rest } = outcome as { alerts: Alert[] };
    return {
      ...rest,
      alerts: alerts.map((alert) => {
        if (alert.evidence?.kind !== "sequence") return alert;
        const { evidence: _chain, eventIds: _ids, events: _events, windowStart: _start, ...kept } = alert;
        return kept;
      }),
    };
  });
}

/** Alert ids raised, per rule. */
function alertsByRule(outcomes: unknown[]): Map<string, string[]> {
  const byRule = new Map<string, string[]>();
  for (const outcome of outcomes)
    for (const alert of (outcome as { alerts: { ruleId: string; id: string }[] }).alerts)
      byRule.set(alert.ruleId, [...(byRule.get(alert.ruleId) ?? []), alert.id]);
  return byRule;
}

describe("wall-clock time passing: the memory store expires state as Redis does", () => {
  for (const seed of [31, 32, 33, 34, 35, 36, 37, 38]) {
    it(`seed ${seed}`, async () => {
      const random = seededRandom(seed);
      const { rules, problems } = parseRules(RULES, "expiry.yaml");
      expect(problems).toEqual([]);
      const until = 300 * MIN;
      const feeds = SOURCES.map((source) =>
        source.name === "pylon-quiet"
          ? feedOf(source, random, 6, 60 * MIN, LATENESS)
          : feedOf(source, random, 60, until, LATENESS),
      );
      quietBounds(feeds.find((f) => f.source === "pylon-quiet")!, until, random);
      for (const feed of feeds)
        feed.batches.push({ events: [], mark: { seq: feed.batches.length + 1, bound: T0 + 10 * until } });

      const runSeed = Math.floor(random() * 1e9);
      const expected = await run(rules, feeds, memoryStore(false), runSeed);
      const actual = await run(rules, feeds, redisStore(), runSeed);
      expect(withoutChains(actual.outcomes)).toEqual(withoutChains(expected.outcomes));

      // Time did pass: state expired, batches were retried, decisions were pending across it.
      expect(actual.expired).toBeGreaterThan(20);
      expect(actual.retried).toBeGreaterThan(0);
      expect(actual.checked).toBeGreaterThan(20);
      const raised = alertsByRule(actual.outcomes);
      for (const { rule } of rules) expect(raised.get(rule.id)?.length ?? 0, rule.id).toBeGreaterThan(0);
      // Expiry changed what was raised (with the clock frozen the definition raises otherwise), but
      // not one absence decision: what a pending decision reads never expires before it is taken.
      const frozen = alertsByRule((await run(rules, feeds, memoryStore(true), runSeed)).outcomes);
      expect(frozen).not.toEqual(raised);
      for (const id of ["x.absence", "x.absence.zendesk"]) expect(raised.get(id), id).toEqual(frozen.get(id));
    }, 60_000);
  }
});
