import { describe, expect, it } from "vitest";
import { type AuditEvent, seededRandom } from "@vigil/core";
import { Engine } from "./engine.js";
import { openIpGeo } from "./enrichment/ip-geo.js";
import { parseRules } from "./rule-loader.js";
import { MemoryRuleStateStore } from "./rule-state/memory-rule-state.store.js";

// The engine enriches lazily (only for rules that can read geo, and for matched events); that must
// be indistinguishable from enriching every event before any rule runs, its definition.
const ipGeo = openIpGeo();

const RULES = [
  "id: plain\nname: P\nseverity: low\nwhen: { '==': [{ var: action }, a] }",
  "id: by-country\nname: C\nseverity: low\nwhen: { '==': [{ var: action }, b] }\nnewValue: { groupBy: [actor.id], fields: [geo.country], learning: 0s }",
  "id: geo-exception\nname: E\nseverity: low\nwhen: { '==': [{ var: action }, c] }\nexceptions: [{ reason: office, when: { '==': [{ var: geo.country }, GB] } }]",
  "id: geo-title\nname: T\nseverity: low\nwhen: { '==': [{ var: action }, d] }\ntitle: 'from {{geo.city}}'",
  "id: whole-event\nname: W\nseverity: low\nwhen: { '!!': [{ var: [''] }] }\nthreshold: { count: 1000000, window: 1h }",
];
const GEO_WHEN = "id: geo-when\nname: G\nseverity: low\nwhen: { '==': [{ var: geo.country }, US] }";
const rulesOf = (texts: string[]) => texts.flatMap((text, i) => parseRules(text, `r${i}.yaml`).rules);

const IPS = ["81.2.69.160", "8.8.8.8", "175.16.199.10", "10.0.0.1", "203.0.113.5", "not an ip", undefined];
function randomEvents(seed: number, count: number): AuditEvent[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const ip = pick(IPS);
    return {
      id: `e${seed}-${i}`,
      source: "s",
      provider: "p",
      nativeId: `${i}`,
      time: new Date(Date.UTC(2026, 2, 1) + i * 1000).toISOString(),
      action: pick(["a", "b", "c", "d", "x", "y"]),
      category: "other",
      outcome: "success",
      actor: { id: pick(["u1", "u2"]) },
      target: {},
      ...(ip === undefined ? {} : { ip }),
      attributes: {},
    } as AuditEvent;
  });
}

/** The evaluation, with each event reduced to what a rule or an alert can see of it. */
function evaluated(engine: Engine, events: AuditEvent[]) {
  const { batch, events: matched } = engine.evaluate(events);
  return { updates: batch.updates, eventIds: batch.eventIds, matched: matched.map((e) => ({ id: e.id, geo: e.geo })) };
}

describe("lazy IP enrichment", () => {
  it("evaluates exactly as enriching every event first would, over random events and rule sets", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed * 7919);
      const texts = [...RULES, GEO_WHEN].filter(() => random() < 0.6);
      const events = randomEvents(seed, 60);
      const lazy = new Engine(rulesOf(texts), new MemoryRuleStateStore({ maxEventIds: 10_000 }), { geo: ipGeo });
      const eager = new Engine(rulesOf(texts), new MemoryRuleStateStore({ maxEventIds: 10_000 }));
      expect(evaluated(lazy, events), `seed ${seed}: ${texts.length} rules`).toEqual(
        evaluated(
          eager,
          events.map((e) => ipGeo.enrich(e)),
        ),
      );
    }
  });

  it("looks up only events a geo-reading rule tests or some rule matched, and never changes the events given", () => {
    let enriched = 0;
    const counting = { enrich: (e: AuditEvent) => (enriched++, ipGeo.enrich(e)) };
    const events = randomEvents(99, 300);
    const before = structuredClone(events);
    const engine = new Engine(rulesOf([RULES[0]!, RULES[3]!]), new MemoryRuleStateStore({ maxEventIds: 10_000 }), {
      geo: counting,
    });
    const { events: matched } = engine.evaluate(events);
    expect(events).toEqual(before);
    // Only actions a and d are candidates of the two rules (the index), and both match every one.
    expect(enriched).toBe(events.filter((e) => e.action === "a" || e.action === "d").length);
    expect(matched.length).toBe(enriched);
    for (const e of matched) expect(e.geo).toEqual(e.ip ? ipGeo.lookup(e.ip) : undefined);
  });
});
