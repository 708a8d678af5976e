import { describe, expect, it } from "vitest";
import { Engine, compileRule, parseRules, RedisRuleStateStore, type LoadedRule } from "@vigil/engine";
import { event, useRedis, keysMatching } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS, type Keyspace } from "@vigil/core";

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
const storeIn = (ks: Keyspace) =>
  new RedisRuleStateStore(redis, ks, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
/** A deletion by actor "a" at 10:<minute> on 2026-03-01. */
const del = (id: string, minute: number) =>
  event({ id, time: new Date(Date.UTC(2026, 2, 1, 10, minute)).toISOString(), action: "destroy", actor: { id: "a" } });
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
    const store = () => storeIn(ks);
    await new Engine([load(BASE)], store()).processBatch([del("1", 0), del("2", 1)], "before-reload");

    const cosmetic = new Engine([load({ ...BASE, title: "edited: {{count}}", severity: "low" })], store());
    const kept = await cosmetic.processBatch([del("3", 2)], "after-cosmetic-reload");
    expect(kept.alerts.map((a) => [a.title, a.count, a.severity])).toEqual([["edited: 3", 3, "low"]]);

    // A count edit counts the same events (the log is shared by what decides which events are
    // counted) but not the old fired spans: the window fires under the same alert id as before,
    // which the alerts queue takes once.
    const recount = new Engine([load(withThreshold({ count: 2 }))], store());
    const again = await recount.processBatch([del("4", 3)], "after-count-edit");
    expect(again.alerts.map((a) => [a.id, a.count])).toEqual([[kept.alerts[0]!.id, 4]]);

    // A condition edit starts afresh: events 1–4 belong to the old condition's log.
    const semantic = new Engine([load({ ...BASE, when: { in: [{ var: "action" }, ["destroy"]] } })], store());
    const fresh = await semantic.processBatch([del("5", 4), del("6", 5)], "after-semantic-reload");
    expect(fresh.alerts).toEqual([]);
    expect((await semantic.processBatch([del("7", 6)], "third")).alerts).toHaveLength(1);
  });

  it("shares one event log between rules that count the same events, each with its own fired spans", async () => {
    const ks = keyspace();
    const tiers = [withThreshold({ count: 2 }), { ...withThreshold({ count: 3 }), id: "k.burst.3" }].map(load);
    const engine = new Engine(tiers, storeIn(ks));
    const first = await engine.processBatch([del("1", 0), del("2", 1), del("2", 1)], "b1");
    expect(first.alerts.map((a) => [a.ruleId, a.count])).toEqual([["k.burst", 2]]);
    expect(first.duplicates).toBe(1);
    const second = await engine.processBatch([del("3", 2), del("1", 0)], "b2");
    expect(second.alerts.map((a) => [a.ruleId, a.count, a.eventIds])).toEqual([["k.burst.3", 3, ["1", "2", "3"]]]);
    expect(second.duplicates).toBe(1);
    const logs = (await keysMatching(redis, `${ks.tag}:rs:*`)).filter((k) => k.endsWith(":z"));
    expect(logs).toHaveLength(1);
  });

  it("keeps a shared log as long as its longest window needs", async () => {
    const MIN = 60_000;
    const short = load({ ...withThreshold({ count: 2, within: "2m" }), id: "k.short", lateness: "10m" });
    const long = load({ ...withThreshold({ count: 4, within: "20m" }), id: "k.long", lateness: "10m" });
    const ks = keyspace();
    const engine = new Engine([short, long], storeIn(ks));
    const T = Date.UTC(2026, 2, 1, 10, 0);
    await engine.processBatch([del("1", 0), del("2", 15)], "b1", { sources: ["s"] });
    await engine.advance("s", { seq: 1, delivered: T + 15 * MIN });
    // The next batch trims the log: the short rule alone would forget event 1 now.
    await engine.processBatch([del("4", 16)], "b2", { sources: ["s"] });
    // Event 3 comes 9 minutes behind its source's newest, within the lateness: the long rule's
    // window ending at event 4 now holds events 1, 3, 2 and 4.
    const late = await engine.processBatch([del("3", 7)], "b3", { sources: ["s"], lags: { "3": 9 * MIN } });
    expect(late.alerts.map((a) => [a.ruleId, a.eventIds])).toEqual([["k.long", ["1", "3", "2", "4"]]]);
  });
});
