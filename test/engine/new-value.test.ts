import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMetrics, DeliveryOrder, type AuditEvent, MAX_ALERT_EVENT_IDS } from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, type LoadedRule } from "@vigil/engine";
import { event, useRedis } from "../helpers.js";

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T00:00:00Z");
const HOUR = 3_600_000;
const _DAY = 24 * HOUR;

function rules(extra = "", learning = "7d"): LoadedRule[] {
  const { rules, problems } = parseRules(
    `
id: nv.new-ip
name: New IP for a user
severity: medium
when: { "==": [{ var: action }, login] }
newValue:
  groupBy: [actor.email]
  fields: [ip]
  learning: ${learning}
  forgetAfter: 30d
${extra}
title: "{{actor.email}} from {{ip}} (last seen {{lastSeen}})"
`,
    "nv.yaml",
  );
  expect(problems).toEqual([]);
  return rules;
}

const login = (id: string, hours: number, ip: string | undefined, email = "eve@example.com"): AuditEvent =>
  event({
    id,
    time: new Date(T0 + hours * HOUR).toISOString(),
    action: "login",
    actor: { email },
    ...(ip ? { ip } : {}),
  });

async function run(loaded: LoadedRule[], batches: AuditEvent[][], metrics?: ReturnType<typeof createMetrics>) {
  const engine = new Engine(
    loaded,
    new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
    { metrics },
  );
  const alerts = [];
  for (const batch of batches) alerts.push(...(await engine.processBatch(batch, randomUUID())).alerts);
  return alerts;
}

describe("newValue rules", () => {
  it("learn for `learning`, then alert on a value the group has not used, once per span", async () => {
    const history = [login("h1", 0, "1.1.1.1"), login("h2", 24, "1.1.1.1"), login("h3", 100, "2.2.2.2")];
    const alerts = await run(rules(), [
      history,
      [login("n1", 8 * 24, "9.9.9.9"), login("n2", 8 * 24 + 1, "9.9.9.9"), login("old", 8 * 24 + 2, "1.1.1.1")],
    ]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      groupKey: { "actor.email": "eve@example.com" },
      evidence: { kind: "newValue", value: { ip: "9.9.9.9" } },
      eventIds: ["n1"],
      title: "eve@example.com from 9.9.9.9 (last seen never)",
    });
    expect(alerts[0]!.evidence?.lastSeen).toBeUndefined();
  });

  it("near miss: nothing alerts while the group is still learning", async () => {
    expect(await run(rules(), [[login("h1", 0, "1.1.1.1"), login("n1", 6 * 24, "9.9.9.9")]])).toEqual([]);
  });

  it("a value unused for longer than forgetAfter is new again, and says when it was last seen", async () => {
    const alerts = await run(rules("", "0"), [
      [login("a", 0, "1.1.1.1")],
      [login("b", 31 * 24, "1.1.1.1")],
      [login("c", 31 * 24 + 2, "1.1.1.1")],
    ]);
    expect(alerts.map((a) => [a.eventIds[0], a.evidence?.lastSeen])).toEqual([
      ["a", undefined],
      ["b", new Date(T0).toISOString()],
    ]);
  });

  it("ignores events missing a field; the value is the tuple of the fields", async () => {
    const loaded = rules("", "0").map((r) => ({
      ...r,
      rule: { ...r.rule, newValue: { ...r.rule.newValue!, fields: ["ip", "target.id"] } },
    }));
    const e = (id: string, ip: string | undefined, target: string) =>
      event({
        id,
        time: new Date(T0).toISOString(),
        action: "login",
        actor: { email: "x" },
        ip,
        target: { id: target },
      });
    const alerts = await run(loaded, [
      [e("1", undefined, "t"), e("2", "1.1.1.1", "t"), e("3", "1.1.1.1", "u"), e("4", "1.1.1.1", "t")],
    ]);
    expect(alerts.map((a) => a.evidence?.value)).toEqual([
      { ip: "1.1.1.1", "target.id": "t" },
      { ip: "1.1.1.1", "target.id": "u" },
    ]);
  });

  it("a repeat within the lateness also qualifies, and merges into the same alert id", async () => {
    const loaded = rules("suppress: 1d", "0");
    const first = await run(loaded, [[login("a", 5, "1.1.1.1"), login("b", 5.5, "1.1.1.1")]]);
    expect(first).toHaveLength(1);
    const split = await run(loaded, [[login("a", 5, "1.1.1.1")], [login("b", 5.5, "1.1.1.1")]]);
    expect(split.map((a) => a.id)).toEqual(first.map((a) => a.id));
  });

  it("forgets the least recently seen values beyond maxValuesPerGroup, counting them", async () => {
    const metrics = createMetrics();
    const loaded = rules("suppress: 1h", "0").map((r) => ({
      ...r,
      rule: { ...r.rule, newValue: { ...r.rule.newValue!, maxValuesPerGroup: 2 } },
    }));
    const alerts = await run(
      loaded,
      [[login("a", 0, "1.1.1.1"), login("b", 2, "2.2.2.2"), login("c", 4, "3.3.3.3"), login("d", 6, "1.1.1.1")]],
      metrics,
    );
    expect(alerts.map((a) => a.eventIds[0])).toEqual(["a", "b", "c", "d"]);
    expect((await metrics.ruleValuesForgotten.get()).values).toEqual([
      expect.objectContaining({ value: 2, labels: { rule: "nv.new-ip" } }),
    ]);
  });

  it("batches applied out of their source's order alert on their watermark, as in the source's order", async () => {
    const pages = [
      [login("h1", 0, "1.1.1.1"), login("h2", 24, "1.1.1.1"), login("h3", 100, "2.2.2.2")],
      [login("n1", 8 * 24, "9.9.9.9"), login("old", 8 * 24 + 2, "1.1.1.1")],
      [login("back", 40 * 24, "2.2.2.2")],
    ];
    const order = new DeliveryOrder();
    const delivered = pages.map((events, i) => ({
      events,
      lags: order.lags(events),
      mark: { seq: i + 1, delivered: order.newestOf("replay")! },
    }));
    const apply = async (processing: number[]) => {
      const engine = new Engine(
        rules(),
        new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
      );
      const onBatches = [];
      for (const i of processing) {
        const { events, lags } = delivered[i]!;
        const outcome = await engine.processBatch(events, randomUUID(), {
          ...(lags ? { lags } : {}),
          sources: ["replay"],
        });
        onBatches.push(...outcome.alerts);
      }
      const onMarks = [];
      for (const i of processing) onMarks.push(...(await engine.advance("replay", delivered[i]!.mark)).alerts);
      return { onBatches, onMarks };
    };
    const reversed = await apply([2, 1, 0]);
    // Nothing decided before the watermark: n1 would have seen a group still learning, `back` a value never seen.
    expect(reversed.onBatches).toEqual([]);
    const pick = (a: (typeof reversed.onMarks)[number]) => [
      a.id,
      a.eventIds,
      a.evidence?.value,
      a.evidence?.lastSeen,
      a.title,
    ];
    expect(reversed.onMarks.map(pick)).toEqual([
      [expect.any(String), ["n1"], { ip: "9.9.9.9" }, undefined, "eve@example.com from 9.9.9.9 (last seen never)"],
      [
        expect.any(String),
        ["back"],
        { ip: "2.2.2.2" },
        new Date(T0 + 100 * HOUR).toISOString(),
        `eve@example.com from 2.2.2.2 (last seen ${new Date(T0 + 100 * HOUR).toISOString()})`,
      ],
    ]);
    const inOrder = await apply([0, 1, 2]);
    expect([...inOrder.onBatches, ...inOrder.onMarks].map(pick)).toEqual(reversed.onMarks.map(pick));
  });

  it("reports a learning no longer than the lateness, and a forgetAfter within it", () => {
    const { problems } = parseRules(
      `id: nv.bad\nname: B\nseverity: low\nwhen: true\nnewValue:\n  groupBy: actor.id\n  fields: [ip]\n  learning: 1h\n  forgetAfter: 30m\n`,
      "bad.yaml",
    );
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`)).toEqual([
      "bad.yaml:8:13: rule nv.bad: newValue.learning: learning must be 0 or longer than lateness (1h), so that no later event can change a verdict",
      "bad.yaml:9:16: rule nv.bad: newValue.forgetAfter: forgetAfter must be longer than lateness (1h)",
    ]);
  });
});
