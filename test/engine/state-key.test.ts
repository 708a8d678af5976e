import { describe, expect, it } from "vitest";
import { Engine, compileRule, parseRules, RedisRuleStateStore, type LoadedRule } from "@vigil/engine";
import { event, useRedis } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS } from "@vigil/core";

const { redis, keyspace } = useRedis();

const BASE = {
  id: "k.burst",
  name: "Burst",
  severity: "high",
  description: "Many deletions.",
  tags: ["impact"],
  notify: ["soc"],
  when: { "==": [{ var: "action" }, "destroy"] },
  threshold: { count: 3, within: "5m", groupBy: ["actor.id"] },
  suppress: "1h",
  lateness: "1h",
  title: "{{count}} deletions",
};

function load(doc: Record<string, unknown>): LoadedRule {
  const { rules, problems } = parseRules(JSON.stringify(doc), "k.json");
  expect(problems).toEqual([]);
  return rules[0]!;
}
const keyOf = (doc: Record<string, unknown>) => compileRule(load(doc)).stateKey;
const withThreshold = (over: Record<string, unknown>) => ({ ...BASE, threshold: { ...BASE.threshold, ...over } });

describe("a rule's state key", () => {
  const base = keyOf(BASE);

  it("ignores what does not change what the rule counts", () => {
    for (const edit of [
      { name: "Renamed" },
      { title: "{{actor.id}} deleted {{count}}" },
      { severity: "critical" },
      { tags: ["other"] },
      { notify: ["pager"] },
      { description: "Reworded." },
      { lateness: "2h" },
      { enabled: false },
      { tests: [{ name: "t", events: [], expect: { alerts: 0 } }] },
    ]) {
      expect(keyOf({ ...BASE, ...edit }), JSON.stringify(edit)).toBe(base);
    }
  });

  it("changes with the condition, the kind's semantics, the suppress span and the rule id", () => {
    const edits = [
      { id: "k.other" },
      { when: { "==": [{ var: "action" }, "delete"] } },
      withThreshold({ count: 4 }),
      withThreshold({ within: "10m" }),
      withThreshold({ groupBy: ["actor.email"] }),
      withThreshold({ distinct: "target.id" }),
      { suppress: "2h" },
      { threshold: undefined, suppress: undefined, lateness: undefined }, // a match rule now
    ];
    const keys = edits.map((edit) => keyOf({ ...BASE, ...edit }));
    for (const [i, key] of keys.entries()) expect(key, JSON.stringify(edits[i])).not.toBe(base);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps state across a reload that edits only cosmetic fields, and starts afresh on a semantic edit", async () => {
    const ks = keyspace();
    const store = () => new RedisRuleStateStore(redis, ks, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
    const del = (id: string, minute: number) =>
      event({
        id,
        time: new Date(Date.UTC(2026, 2, 1, 10, minute)).toISOString(),
        action: "destroy",
        actor: { id: "a" },
      });
    await new Engine([load(BASE)], store()).processBatch([del("1", 0), del("2", 1)], "before-reload");

    const cosmetic = new Engine([load({ ...BASE, title: "edited: {{count}}", severity: "low" })], store());
    const kept = await cosmetic.processBatch([del("3", 2)], "after-cosmetic-reload");
    expect(kept.alerts.map((a) => [a.title, a.count, a.severity])).toEqual([["edited: 3", 3, "low"]]);

    const semantic = new Engine([load(withThreshold({ count: 2 }))], store());
    const fresh = await semantic.processBatch([del("4", 3)], "after-semantic-reload");
    expect(fresh.alerts).toEqual([]); // events 1–3 belong to the old rule's state
    expect((await semantic.processBatch([del("5", 4)], "second")).alerts).toHaveLength(1);
  });
});
