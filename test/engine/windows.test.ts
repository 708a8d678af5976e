import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { createMetrics, MAX_ALERT_EVENT_IDS, type AuditEvent } from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, windowAlertId, matchAlertId, type LoadedRule } from "@vigil/engine";
import { event, seededRandom, shuffle, useRedis } from "../helpers.js";

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T00:00:00Z");
const MIN = 60_000;

function rule(yaml: string): LoadedRule[] {
  const { rules, problems } = parseRules(yaml, "inline.yaml");
  expect(problems).toEqual([]);
  return rules;
}

function engineFor(rules: LoadedRule[], options: { metrics?: ReturnType<typeof createMetrics> } = {}) {
  const store = new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
  return new Engine(rules, store, options);
}

const deletions = (extra = "") =>
  rule(`
id: test.mass-delete
name: Mass deletion
severity: high
when: { "==": [{ var: action }, destroy] }
threshold: { count: 3, within: 5m, groupBy: [actor.id] }
title: "{{actor.id}} deleted {{count}} things"
${extra}
`);

function del(id: string, minutes: number, actor = "alice", target = `t-${id}`): AuditEvent {
  return event({
    id,
    time: new Date(T0 + minutes * MIN).toISOString(),
    action: "destroy",
    actor: { id: actor },
    target: { id: target },
  });
}

async function runAll(engine: Engine, batches: AuditEvent[][]) {
  const alerts = [];
  for (const batch of batches) alerts.push(...(await engine.processBatch(batch, randomUUID())).alerts);
  return alerts;
}

describe("threshold windows", () => {
  it("fires when count events fall within the window, not before", async () => {
    const engine = engineFor(deletions());
    expect((await engine.processBatch([del("1", 0), del("2", 1)], "a")).alerts).toEqual([]);
    const { alerts } = await engine.processBatch([del("3", 2)], "b");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      ruleId: "test.mass-delete",
      title: "alice deleted 3 things",
      groupKey: { "actor.id": "alice" },
      count: 3,
      windowStart: new Date(T0).toISOString(),
      windowEnd: new Date(T0 + 2 * MIN).toISOString(),
      eventIds: ["1", "2", "3"],
    });
  });

  it("needs last minus first strictly below within", async () => {
    const exact = engineFor(deletions());
    expect(await runAll(exact, [[del("1", 0), del("2", 2), del("3", 5)]])).toEqual([]);
    const inside = engineFor(deletions());
    const justInside = event({
      id: "3",
      time: new Date(T0 + 5 * MIN - 1).toISOString(),
      action: "destroy",
      actor: { id: "alice" },
    });
    expect(await runAll(inside, [[del("1", 0), del("2", 2), justInside]])).toHaveLength(1);
  });

  it("counts groups separately", async () => {
    const engine = engineFor(deletions());
    const alerts = await runAll(engine, [
      [del("1", 0, "a"), del("2", 0, "b"), del("3", 1, "a"), del("4", 1, "b"), del("5", 2, "a")],
    ]);
    expect(alerts.map((a) => a.groupKey)).toEqual([{ "actor.id": "a" }]);
  });

  it("groups by several paths", async () => {
    const engine = engineFor(
      rule(`
id: multi
name: Multi
severity: low
when: true
threshold: { count: 2, within: 1h, groupBy: [actor.id, ip] }
`),
    );
    const e = (id: string, actor: string, ip: string) =>
      event({ id, time: new Date(T0).toISOString(), actor: { id: actor }, ip });
    const alerts = await runAll(engine, [[e("1", "a", "1.1.1.1"), e("2", "a", "2.2.2.2"), e("3", "a", "1.1.1.1")]]);
    expect(alerts.map((a) => a.groupKey)).toEqual([{ "actor.id": "a", ip: "1.1.1.1" }]);
  });

  it("counts distinct values when asked", async () => {
    const engine = engineFor(
      deletions().map((r) => ({
        ...r,
        rule: { ...r.rule, threshold: { ...r.rule.threshold!, distinct: "target.id" } },
      })),
    );
    // Five deletions of the same two targets: only 2 distinct.
    const same = [0, 1, 2, 3, 4].map((m) => del(`s${m}`, m / 10, "alice", m % 2 ? "x" : "y"));
    expect(await runAll(engine, [same])).toEqual([]);
    const { alerts } = await engine.processBatch([del("z", 1, "alice", "z")], "third-target");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.count).toBe(3);
  });

  it("counts an event delivered twice once, in one batch or across batches", async () => {
    const engine = engineFor(deletions());
    const twice = [del("1", 0), del("1", 0), del("2", 1)];
    expect(await runAll(engine, [twice, [del("2", 1), del("1", 0)]])).toEqual([]);
    expect(await runAll(engine, [[del("3", 2)]])).toHaveLength(1);
  });

  it("returns the same alerts when the same batch is retried", async () => {
    const engine = engineFor(deletions());
    const batch = [del("1", 0), del("2", 1), del("3", 2)];
    const first = await engine.processBatch(batch, "retry-me");
    const again = await engine.processBatch(batch, "retry-me");
    expect(first.alerts).toHaveLength(1);
    expect(again.alerts.map((a) => a.id)).toEqual(first.alerts.map((a) => a.id));
    const redelivered = await engine.processBatch(batch, "another-batch");
    expect(redelivered.alerts).toEqual([]);
    expect(redelivered.duplicates).toBe(3);
  });

  it("raises at most one alert per suppress span of event time", async () => {
    const engine = engineFor(deletions("suppress: 1h"));
    // One deletion a minute for three hours: the condition holds almost all the time.
    const stream = Array.from({ length: 180 }, (_, m) => del(`e${m}`, m));
    const alerts = await runAll(engine, [stream.slice(0, 60), stream.slice(60, 120), stream.slice(120)]);
    const buckets = alerts.map((a) => Math.floor(Date.parse(a.windowEnd) / 3_600_000));
    expect(new Set(buckets).size).toBe(alerts.length);
    expect(alerts).toHaveLength(3);
  });

  it("refuses events later than the lateness, reports them, and keeps counting the rest", async () => {
    const metrics = createMetrics();
    const engine = engineFor(deletions("lateness: 10m"), { metrics });
    await runAll(engine, [[del("1", 60), del("2", 61)]]);
    // The source delivered "old" 31 minutes behind the newest event it had delivered.
    const { alerts, late } = await engine.processBatch([del("old", 30)], "late", { lags: { old: 31 * 60_000 } });
    expect(alerts).toEqual([]);
    expect(late).toEqual([{ eventId: "old", ruleId: "test.mass-delete" }]);
    const metric = await metrics.eventsLate.get();
    expect(metric.values[0]).toMatchObject({ value: 1, labels: { rule: "test.mass-delete" } });
    // An event 5 minutes late is within the lateness and completes the window.
    expect((await engine.processBatch([del("3", 57)], "in-time", { lags: { "3": 4 * 60_000 } })).alerts).toHaveLength(
      1,
    );
  });

  it("does one Redis round trip per batch, however large", async () => {
    const engine = engineFor(deletions());
    await engine.processBatch([del("warm", 0)], "warm-up");
    const spy = vi.spyOn(redis, "sendCommand");
    await engine.processBatch(
      Array.from({ length: 300 }, (_, i) => del(`big${i}`, i / 100, `actor${i % 7}`)),
      "big",
    );
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });
});

describe("arrival order does not change the alerts", () => {
  // The definition, computed directly: bucket b of a group fires when some event time t in b
  // ends a window (t - within, t] holding at least `count` events (or distinct values).
  function expectedAlertIds(
    events: AuditEvent[],
    ruleId: string,
    count: number,
    within: number,
    suppress: number,
    distinct?: (e: AuditEvent) => string,
  ) {
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    const ids = new Set<string>();
    for (const end of unique) {
      const tEnd = Date.parse(end.time);
      const inWindow = unique.filter(
        (e) => e.actor.id === end.actor.id && Date.parse(e.time) > tEnd - within && Date.parse(e.time) <= tEnd,
      );
      const size = distinct ? new Set(inWindow.map(distinct)).size : inWindow.length;
      if (size >= count) ids.add(windowAlertId(ruleId, [end.actor.id], Math.floor(tEnd / suppress) * suppress));
    }
    return [...ids].sort();
  }

  function randomEvents(seed: number, n: number): AuditEvent[] {
    const random = seededRandom(seed);
    const events = Array.from({ length: n }, (_, i) =>
      del(
        `ev${seed}-${i}`,
        Math.floor(random() * 240 * 4) / 4,
        `actor${Math.floor(random() * 3)}`,
        `target${Math.floor(random() * 6)}`,
      ),
    );
    // Some events delivered twice.
    return [...events, ...events.filter(() => random() < 0.15)];
  }

  function randomBatches(events: AuditEvent[], random: () => number): AuditEvent[][] {
    const batches: AuditEvent[][] = [];
    for (let i = 0; i < events.length; ) {
      const size = 1 + Math.floor(random() * 40);
      batches.push(events.slice(i, i + size));
      i += size;
    }
    return batches;
  }

  for (const distinct of [false, true]) {
    it(`matches the definition in every shuffled order${distinct ? " (distinct)" : ""}`, async () => {
      const extra = `lateness: 1d\nsuppress: 20m${distinct ? "" : ""}`;
      const rules = deletions(extra).map((r) =>
        distinct
          ? { ...r, rule: { ...r.rule, threshold: { ...r.rule.threshold!, count: 3, distinct: "target.id" } } }
          : r,
      );
      for (const seed of [1, 2, 3]) {
        const events = randomEvents(seed, 120);
        const expected = expectedAlertIds(
          events,
          "test.mass-delete",
          3,
          5 * MIN,
          20 * MIN,
          distinct ? (e) => e.target.id! : undefined,
        );
        expect(expected.length).toBeGreaterThan(3);
        const sorted = [...events].sort((a, b) => a.time.localeCompare(b.time));
        const orders = [
          sorted,
          [...sorted].reverse(),
          ...[11, 12, 13].map((s) => shuffle(events, seededRandom(seed * 100 + s))),
        ];
        for (const [o, order] of orders.entries()) {
          const alerts = await runAll(engineFor(rules), randomBatches(order, seededRandom(seed + o)));
          const ids = alerts.map((a) => a.id).sort();
          expect(ids, `seed ${seed}, order ${o}`).toEqual(expected);
        }
      }
    });
  }
});

describe("match rules", () => {
  it("raises one alert per matching event, once however often delivered", async () => {
    const engine = engineFor(
      rule(`
id: token.created
name: Token created
severity: medium
tags: [persistence]
notify: [soc]
when: { "==": [{ var: action }, APITokenCreated] }
title: "{{actor.email}} created a token <{{target.name}}>"
`),
    );
    const created = event({
      id: "p1",
      time: "2026-03-01T10:00:00Z",
      action: "APITokenCreated",
      actor: { email: "eve@example.com" },
      target: { name: "ci" },
    });
    const other = event({ id: "p2", time: "2026-03-01T10:00:01Z", action: "Login" });
    const first = await engine.processBatch([created, other], "m1");
    expect(first.alerts).toHaveLength(1);
    expect(first.unmatched).toBe(1);
    expect(first.alerts[0]).toMatchObject({
      id: matchAlertId("token.created", "p1"),
      title: "eve@example.com created a token <ci>",
      tags: ["persistence"],
      notify: ["soc"],
      count: 1,
      eventIds: ["p1"],
      windowStart: "2026-03-01T10:00:00Z",
    });
    expect((await engine.processBatch([created], "m2")).alerts).toEqual([]);
  });
});
