import { describe, expect, it } from "vitest";
import { type AuditEvent, seededRandom } from "@vigil/core";
import { Engine } from "./engine.js";
import { openIpGeo } from "./enrichment/ip-geo.js";
import { parseRules } from "./rule-loader.js";
import { MemoryRuleStateStore } from "./rule-state/memory-rule-state.store.js";

// The engine enriches lazily (only events a rule that can read geo tests); that must be
// indistinguishable from enriching every event before any rule runs, its definition.
const ipGeo = openIpGeo();

const RULES = [
  "id: plain\nname: P\nseverity: low\nwhen: { '==': [{ var: action }, a] }\ntitle: '{{actor.id}} did a'",
  "id: by-country\nname: C\nseverity: low\nwhen: { '==': [{ var: action }, b] }\nnewValue: { groupBy: [actor.id], fields: [geo.country], learning: 0s }",
  "id: geo-exception\nname: E\nseverity: low\nwhen: { '==': [{ var: action }, c] }\nexceptions: [{ reason: office, when: { '==': [{ var: geo.country }, GB] } }]",
  "id: geo-title\nname: T\nseverity: low\nwhen: { in: [{ var: action }, [a, d]] }\ntitle: 'from {{geo.city}}'",
  "id: geo-group\nname: G\nseverity: low\nwhen: { in: [{ var: action }, [a, b]] }\nthreshold: { groupBy: [geo.country], count: 2, window: 1h }",
  "id: whole-event\nname: W\nseverity: low\nwhen: { '!!': [{ var: [''] }] }\nthreshold: { count: 5, window: 1m }",
  "id: geo-when\nname: G\nseverity: low\nwhen: { '==': [{ var: geo.country }, US] }",
];
const rulesOf = (texts: string[]) => texts.flatMap((text, i) => parseRules(text, `r${i}.yaml`).rules);
const engineOf = (texts: string[], geo?: Pick<typeof ipGeo, "enrich">) =>
  new Engine(rulesOf(texts), new MemoryRuleStateStore({ maxEventIds: 10_000 }), {
    now: () => new Date("2026-03-02T00:00:00Z"),
    ...(geo ? { geo } : {}),
  });

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
      action: pick(["a", "b", "c", "d", "x"]),
      category: "other",
      outcome: "success",
      actor: { id: pick(["u1", "u2"]) },
      target: {},
      ...(ip === undefined ? {} : { ip }),
      attributes: {},
    } as AuditEvent;
  });
}

describe("lazy IP enrichment", () => {
  it("raises exactly the alerts enriching every event first would, over random events, batches and rule sets", async () => {
    let alerts = 0;
    let geoTitles = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed * 7919);
      const texts = RULES.filter(() => random() < 0.6);
      const events = randomEvents(seed, 80);
      const lazy = engineOf(texts, ipGeo);
      const eager = engineOf(texts);
      for (let start = 0, n = 0; start < events.length; n++) {
        const size = 1 + Math.floor(random() * 25);
        const batch = events.slice(start, start + size);
        start += size;
        const [got, want] = await Promise.all([
          lazy.processBatch(batch, `b${n}`),
          eager.processBatch(
            batch.map((e) => ipGeo.enrich(e)),
            `b${n}`,
          ),
        ]);
        expect(got, `seed ${seed}, batch ${n}: ${texts.length} rules`).toEqual(want);
        alerts += got.alerts.length;
        geoTitles += got.alerts.filter((a) => /^from \S/.test(a.title)).length;
      }
    }
    // The comparison is not vacuous: alerts of every kind, titles naming a city among them.
    expect(alerts).toBeGreaterThan(100);
    expect(geoTitles).toBeGreaterThan(10);
  });

  it("looks up only the events a rule that can read geo tests, and never changes the events given", () => {
    let enriched = 0;
    const counting = {
      enrich: (e: AuditEvent) => {
        enriched++;
        return ipGeo.enrich(e);
      },
    };
    const events = randomEvents(99, 300);
    const before = structuredClone(events);
    // plain reads no geo; geo-title (actions a and d) does: only a and d events are looked up.
    const { events: matched } = engineOf([RULES[0]!, RULES[3]!], counting).evaluate(events);
    expect(events).toEqual(before);
    expect(enriched).toBe(events.filter((e) => e.action === "a" || e.action === "d").length);
    expect(matched.length).toBe(enriched);
    for (const e of matched) expect(e.geo).toEqual(e.ip ? ipGeo.lookup(e.ip) : undefined);
  });
});
