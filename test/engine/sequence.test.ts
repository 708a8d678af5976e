import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, windowAlertId, type LoadedRule } from "@vigil/engine";
import { event, useRedis } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS } from "@vigil/core";

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T10:00:00Z");
const MIN = 60_000;

function rules(yaml: string): LoadedRule[] {
  const { rules, problems } = parseRules(yaml, "seq.yaml");
  expect(problems).toEqual([]);
  return rules;
}

const bruteForce = (extra = "") =>
  rules(`
id: seq.brute-force
name: Brute force then success
severity: high
when: { "==": [{ var: provider }, pylon] }
sequence:
  groupBy: [actor.email]
  within: 30m
  ${extra}
  steps:
    - { name: failures, when: { "==": [{ var: outcome }, failure] }, count: 5 }
    - { name: success, when: { "==": [{ var: outcome }, success] } }
suppress: 1h
title: "{{actor.email}}: {{steps.failures.count}} failures then a success"
`);

const login = (
  id: string,
  minute: number,
  outcome: "success" | "failure",
  email = "eve@example.com",
  provider = "pylon",
): AuditEvent =>
  event({
    id,
    time: new Date(T0 + minute * MIN).toISOString(),
    provider,
    action: "LoginAttempt",
    outcome,
    actor: { email },
  });

async function run(loaded: LoadedRule[], batches: AuditEvent[][]) {
  const engine = new Engine(
    loaded,
    new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
  );
  const alerts = [];
  for (const batch of batches) alerts.push(...(await engine.processBatch(batch, randomUUID())).alerts);
  return alerts;
}

const fails = (n: number, from = 0, email?: string) =>
  Array.from({ length: n }, (_, i) => login(`f${from + i}${email ?? ""}`, from + i, "failure", email));

describe("sequence rules", () => {
  it("alert on five failures then a success, carrying the chain", async () => {
    const alerts = await run(bruteForce(), [[...fails(5), login("ok", 6, "success")]]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      id: windowAlertId("seq.brute-force", ["eve@example.com"], Math.floor((T0 + 6 * MIN) / 3_600_000) * 3_600_000),
      title: "eve@example.com: 5 failures then a success",
      groupKey: { "actor.email": "eve@example.com" },
      count: 6,
      windowStart: new Date(T0).toISOString(),
      windowEnd: new Date(T0 + 6 * MIN).toISOString(),
      evidence: {
        kind: "sequence",
        chain: [
          { name: "failures", eventIds: ["f0", "f1", "f2", "f3", "f4"] },
          { name: "success", eventIds: ["ok"] },
        ],
      },
    });
  });

  it("near misses: four failures, a success before the fifth, a chain longer than within, another provider", async () => {
    expect(await run(bruteForce(), [[...fails(4), login("ok", 6, "success")]])).toEqual([]);
    expect(await run(bruteForce(), [[...fails(4), login("ok", 4, "success"), login("f9", 5, "failure")]])).toEqual([]);
    expect(await run(bruteForce(), [[...fails(5), login("ok", 30, "success")]])).toEqual([]);
    expect(await run(bruteForce(), [[...fails(5), login("ok", 29, "success")]])).toHaveLength(1);
    expect(await run(bruteForce(), [[...fails(5), login("ok", 6, "success", "eve@example.com", "zendesk")]])).toEqual(
      [],
    );
  });

  it("ties are in order: a success at the same time as the fifth failure completes the chain", async () => {
    expect(await run(bruteForce(), [[...fails(5), login("ok", 4, "success")]])).toHaveLength(1);
  });

  it("arrival order does not matter within the lateness: the success first, the failures late", async () => {
    const alerts = await run(bruteForce(), [[login("ok", 6, "success")], fails(3), fails(2, 3)]);
    expect(alerts.map((a) => a.evidence?.chain)).toEqual([
      [
        { name: "failures", eventIds: ["f0", "f1", "f2", "f3", "f4"] },
        { name: "success", eventIds: ["ok"] },
      ],
    ]);
  });

  it("unordered: all steps in any order", async () => {
    const unordered = bruteForce("ordered: false");
    expect(await run(unordered, [[login("ok", 0, "success"), ...fails(5, 1)]])).toHaveLength(1);
    expect(await run(bruteForce(), [[login("ok", 0, "success"), ...fails(5, 1)]])).toEqual([]);
  });

  it("unordered: the chain ends at the event that completed it, even when another event could take its place", async () => {
    const loaded = rules(`
id: seq.any
name: Any order
severity: low
when: true
sequence:
  groupBy: [actor.id]
  within: 10m
  ordered: false
  steps:
    - { name: a, when: { in: [{ var: action }, [a, ab]] } }
    - { name: b, when: { in: [{ var: action }, [b, ab]] } }
`);
    const e = (id: string, minute: number, action: string) =>
      event({ id, time: new Date(T0 + minute * MIN).toISOString(), action, actor: { id: "x" } });
    const [first] = await run(loaded, [[e("a0", 0, "a"), e("ab1", 1, "ab")]]);
    expect(first).toMatchObject({ windowEnd: new Date(T0 + MIN).toISOString() });
    const [alert] = await run(loaded, [[e("a0", 0, "a")], [e("b2", 2, "b"), e("ab1", 1, "ab")]]);
    const ids = (alert!.evidence!.chain as { eventIds: string[] }[]).flatMap((c) => c.eventIds);
    expect(ids).toContain(alert!.windowEnd === new Date(T0 + 2 * MIN).toISOString() ? "b2" : "ab1");
  });

  it("at most one alert per group and suppress span; groups apart", async () => {
    const alerts = await run(bruteForce(), [
      [...fails(5), login("ok", 6, "success"), login("ok2", 7, "success"), login("ok3", 50, "success")],
    ]);
    expect(alerts.map((a) => a.windowEnd)).toEqual([new Date(T0 + 6 * MIN).toISOString()]);
    const bob = fails(5, 10, "bob").map((e) => ({ ...e, actor: { email: "bob@example.com" } }));
    const both = await run(bruteForce(), [
      [...fails(5), login("ok", 6, "success"), ...bob, login("okb", 20, "success", "bob@example.com")],
    ]);
    expect(both.map((a) => a.groupKey["actor.email"]).sort()).toEqual(["bob@example.com", "eve@example.com"]);
  });

  it("with the rule index on or off (the index sees the steps), a sequence rule gets the events of its steps", async () => {
    const loaded = rules(`
id: seq.indexed
name: Indexed
severity: low
when: { "==": [{ var: provider }, pylon] }
sequence:
  groupBy: [actor.email]
  within: 30m
  steps:
    - { name: failures, when: { "==": [{ var: action }, LoginFailed] }, count: 2 }
    - { name: success, when: { "==": [{ var: action }, LoginSucceeded] } }
`);
    const e = (id: string, minute: number, action: string) =>
      event({ id, time: new Date(T0 + minute * MIN).toISOString(), provider: "pylon", action, actor: { email: "x" } });
    const batch = [e("1", 0, "LoginFailed"), e("2", 1, "Other"), e("3", 2, "LoginFailed"), e("4", 3, "LoginSucceeded")];
    for (const ruleIndex of [true, false]) {
      const engine = new Engine(
        loaded,
        new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
        { ruleIndex },
      );
      expect(engine.evaluate(batch).batch.eventIds).toEqual(["1", "3", "4"]);
      expect((await engine.processBatch(batch, "b")).alerts.map((a) => a.evidence?.chain)).toEqual([
        [
          { name: "failures", eventIds: ["1", "3"] },
          { name: "success", eventIds: ["4"] },
        ],
      ]);
    }
  });

  it("reports loading errors at their position, naming the rule", () => {
    const problems = (text: string) =>
      parseRules(text, "bad.yaml").problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
    expect(
      problems(`id: s1
name: S
severity: low
when: true
sequence:
  groupBy: actor.id
  within: 10m
  steps:
    - { name: only, when: true }
`),
    ).toEqual(["bad.yaml:9:5: rule s1: sequence.steps: a sequence has 2 to 5 steps"]);
    expect(
      problems(`id: s2
name: S
severity: low
when: true
sequence:
  groupBy: actor.id
  within: 10m
  steps:
    - { name: a, when: { equals: [1, 1] } }
    - { name: a, when: true, count: 0 }
threshold: { count: 2, within: 1m, groupBy: ip }
`),
    ).toEqual([
      "bad.yaml:10:37: rule s2: sequence.steps.1.count: Too small: expected number to be >=1, found 0 (a number)",
      'bad.yaml:10:15: rule s2: sequence.steps.1.name: step name "a" is already step 1\'s',
      "bad.yaml:6:3: rule s2: sequence: a rule has one kind; found threshold and sequence",
      'bad.yaml:9:26: rule s2: sequence.steps.0.when: unknown JsonLogic operator "equals"',
    ]);
  });
});
