import { describe, expect, it } from "vitest";
import { Engine, parseRules, RedisRuleStateStore, SOURCE_BLIND_RULE_ID, type LoadedRule } from "@vigil/engine";
import { event, useRedis } from "../helpers.js";

// A source whose watermark stops advancing holds its absence rules back (no false absence) and,
// once stale for the configured time, raises one "source blind" alert naming it and those rules.

const { redis, keyspace } = useRedis();
const HOUR = 3_600_000;

function load(yaml: string): LoadedRule[] {
  const { rules, problems } = parseRules(yaml, "blind.yaml");
  expect(problems).toEqual([]);
  return rules;
}

const ABSENCE = `id: quiet.project
name: Quiet project
severity: low
when: { "==": [{ var: provider }, logfire] }
absence: { groupBy: [actor.id], within: 1h }
---
id: only.other
name: Other source's absence
severity: low
when: true
absence: { groupBy: [actor.id], within: 1h, sources: [other] }
---
id: a.match
name: Match
severity: low
when: { "==": [{ var: action }, x] }
---
id: new.ip
name: New IP
severity: low
when: true
newValue: { groupBy: [actor.id], fields: [ip], learning: 0, forgetAfter: 1d }
`;

describe("source blind", () => {
  it("alerts once per stall, naming the source and the absence and newValue rules it blocks", async () => {
    const engine = new Engine(
      load(ABSENCE),
      new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: HOUR, maxEventIds: 50 }),
    );
    const t = "2026-03-01T10:00:00Z";
    await engine.processBatch([event({ id: "e1", time: t, source: "logs", provider: "logfire" })], "b1", {
      sources: ["logs"],
    });
    await engine.advance("logs", { seq: 1, delivered: Date.parse(t) }, "w1");
    const now = Date.now();
    expect(await engine.blindSources(now + 10 * 60_000, HOUR)).toEqual([]);

    const [alert, ...others] = await engine.blindSources(now + 2 * HOUR, HOUR);
    expect(others).toEqual([]);
    expect(alert).toMatchObject({
      ruleId: SOURCE_BLIND_RULE_ID,
      severity: "high",
      groupKey: { source: "logs", rules: "quiet.project,new.ip" },
    });
    expect(alert!.title).toMatch(
      /^source logs is blind: its watermark has not moved since .*; absence and newValue rules wait for it: quiet\.project, new\.ip$/,
    );
    // The same stall, checked again (or by another replica): the same alert id.
    expect((await engine.blindSources(now + 3 * HOUR, HOUR)).map((a) => a.id)).toEqual([alert!.id]);

    // Once the watermark moves, a later stall is another alert.
    await engine.advance("logs", { seq: 2, delivered: Date.parse(t) + HOUR }, "w2");
    expect(await engine.blindSources(Date.now() + 10 * 60_000, HOUR)).toEqual([]);
    const [later] = await engine.blindSources(Date.now() + 2 * HOUR, HOUR);
    expect(later!.id).not.toBe(alert!.id);
  });

  it("says nothing when no absence rule waits for the source", async () => {
    const engine = new Engine(
      load(`id: a.match\nname: Match\nseverity: low\nwhen: true\n`),
      new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: HOUR, maxEventIds: 50 }),
    );
    await engine.advance("logs", { seq: 1, delivered: 0 }, "w1");
    expect(await engine.blindSources(Date.now() + 10 * HOUR, HOUR)).toEqual([]);
  });
});
