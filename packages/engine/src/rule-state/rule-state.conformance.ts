// The one conformance suite every RuleStateStore passes (the Redis store and the in-memory
// definition alike). Vitest runs it from test/engine/rule-state.conformance.test.ts.
import { describe, expect, it } from "vitest";
import type { RuleStateBatch, RuleStateRule, RuleStateStore, RuleStateUpdate } from "./rule-state.store.js";

const MIN = 60_000;
const T0 = Date.parse("2026-03-01T00:00:00Z");

const threshold = (over: Partial<Record<string, number | boolean>> = {}): RuleStateRule => ({
  kind: "threshold",
  key: "t1",
  params: {
    count: 3,
    within: 5 * MIN,
    suppress: 5 * MIN,
    lateness: 60 * MIN,
    distinct: false,
    ttl: 3_600_000,
    ...over,
  },
});
const sequence = (ordered: boolean): RuleStateRule => ({
  kind: "sequence",
  key: `s-${ordered}`,
  params: { counts: [2, 1], within: 10 * MIN, suppress: 60 * MIN, lateness: 60 * MIN, ordered, ttl: 3_600_000 },
});
const newValue = (over: Partial<Record<string, number>> = {}): RuleStateRule => ({
  kind: "newValue",
  key: "nv",
  params: {
    learning: 0,
    forget: 24 * 60 * MIN,
    lateness: 60 * MIN,
    suppress: 60 * MIN,
    maxValues: 10_000,
    ttl: 3_600_000,
    ...over,
  },
});
const match: RuleStateRule = { kind: "match", key: "m1", params: {} };
const absence = (over: Partial<Record<string, number | boolean | string[]>> = {}): RuleStateRule => ({
  kind: "absence",
  key: `ab-${over.silence === true}`,
  params: {
    within: 30 * MIN,
    suppress: 60 * MIN,
    lateness: 10 * MIN,
    silence: false,
    sources: [],
    ttl: 3_600_000,
    ...over,
  },
});

const travel = (over: Partial<Record<string, number>> = {}): RuleStateRule => ({
  kind: "travel",
  key: "tr",
  params: {
    horizon: 24 * 60 * MIN,
    maxSpeed: 900,
    minDistance: 100,
    suppress: 60 * MIN,
    lateness: 60 * MIN,
    maxEvents: 200,
    ttl: 3_600_000,
    ...over,
  },
});
/** A travel update's data: where the event was (degrees; accuracy radius in km). */
const at = (ip: string, lat: number, lon: number, acc = 0) => JSON.stringify({ ip, lat, lon, acc });
const PARIS = (ip = "1.1.1.1", acc = 0) => at(ip, 48.8566, 2.3522, acc);
const NEW_YORK = (ip = "2.2.2.2", acc = 0) => at(ip, 40.7128, -74.006, acc);
const VERSAILLES = (ip = "3.3.3.3") => at(ip, 48.8049, 2.1204);
const LYON = (ip = "4.4.4.4") => at(ip, 45.764, 4.8357);

let batchNumber = 0;
/**
 * A batch of (id, minute, rule index, group, value) rows over the given rules. A row with the
 * previous row's id and another rule is the same event (one event, several rules); otherwise
 * each row is an event of its own (so a repeated id is a duplicate delivery).
 */
function batch(
  rules: RuleStateRule[],
  rows: [id: string, minute: number, rule?: number, group?: string, value?: string][],
  /** Per event id, its lag in its source's order (minutes); and the sources the batch comes from. */
  delivery: { lags?: Record<string, number>; sources?: string[] } = {},
): RuleStateBatch {
  const eventIds: string[] = [];
  const updates: RuleStateUpdate[] = rows.map(([id, minute, rule = 0, group = "g", value], i) => {
    const previous = rows[i - 1];
    const event =
      previous && previous[0] === id && (previous[2] ?? 0) !== rule ? eventIds.length - 1 : eventIds.push(id) - 1;
    const update: RuleStateUpdate = {
      rule,
      event,
      group: rules[rule]!.kind === "match" ? "" : group,
      time: T0 + minute * MIN,
    };
    if (rules[rule]!.kind === "sequence" || rules[rule]!.kind === "absence")
      update.steps = (value ?? "0").split(",").map(Number);
    if (rules[rule]!.kind === "absence" && update.steps?.includes(0)) update.data = `anchor ${id}`;
    else if (rules[rule]!.kind === "travel") update.data = value;
    else if (value !== undefined) update.value = value;
    const lag = delivery.lags?.[id];
    if (lag) update.lag = lag * MIN;
    return update;
  });
  const applied: RuleStateBatch = { batchId: `b${++batchNumber}`, eventIds, rules, updates };
  if (delivery.sources) applied.sources = delivery.sources;
  return applied;
}

export function ruleStateConformance(name: string, makeStore: () => RuleStateStore): void {
  describe(`${name} (rule-state conformance)`, () => {
    it("threshold: fires when count events fall in a window, with the window's facts", async () => {
      const store = makeStore();
      const rules = [threshold()];
      expect(
        (
          await store.apply(
            batch(rules, [
              ["a", 0],
              ["b", 1],
            ]),
          )
        ).fired,
      ).toEqual([]);
      const { fired, late, duplicates } = await store.apply(batch(rules, [["c", 2]]));
      expect(late).toEqual([]);
      expect(duplicates).toBe(0);
      expect(fired).toEqual([
        {
          rule: 0,
          event: 0,
          group: "g",
          span: Math.floor((T0 + 2 * MIN) / (5 * MIN)),
          windowStart: T0,
          windowEnd: T0 + 2 * MIN,
          count: 3,
          eventIds: ["a", "b", "c"],
        },
      ]);
    });

    it("threshold: last minus first must be below within; groups count apart", async () => {
      const store = makeStore();
      const rules = [threshold()];
      expect(
        (
          await store.apply(
            batch(rules, [
              ["a", 0],
              ["b", 2],
              ["c", 5],
              ["x", 1, 0, "other"],
              ["y", 2, 0, "other"],
            ]),
          )
        ).fired,
      ).toEqual([]);
    });

    it("threshold: an id counts once, in one batch or across batches", async () => {
      const store = makeStore();
      const rules = [threshold()];
      const first = await store.apply(
        batch(rules, [
          ["a", 0],
          ["a", 0],
          ["b", 1],
        ]),
      );
      expect(first).toEqual({ fired: [], late: [], duplicates: 1 });
      const again = await store.apply(
        batch(rules, [
          ["b", 1],
          ["a", 0],
        ]),
      );
      expect(again).toEqual({ fired: [], late: [], duplicates: 2 });
      expect((await store.apply(batch(rules, [["c", 2]]))).fired).toHaveLength(1);
    });

    it("threshold: distinct counts values, not events", async () => {
      const store = makeStore();
      const rules = [threshold({ distinct: true })];
      expect(
        (
          await store.apply(
            batch(rules, [
              ["a", 0, 0, "g", "x"],
              ["b", 1, 0, "g", "y"],
              ["c", 2, 0, "g", "x"],
            ]),
          )
        ).fired,
      ).toEqual([]);
      const { fired } = await store.apply(batch(rules, [["d", 3, 0, "g", "z"]]));
      expect(fired).toMatchObject([{ count: 3, eventIds: ["a", "b", "c", "d"] }]);
    });

    it("threshold: refuses events whose lag is beyond the lateness, and late events complete later windows", async () => {
      const store = makeStore();
      const rules = [threshold({ lateness: 10 * MIN })];
      await store.apply(
        batch(rules, [
          ["a", 60],
          ["b", 61],
        ]),
      );
      expect(await store.apply(batch(rules, [["old", 30]], { lags: { old: 31 } }))).toEqual({
        fired: [],
        late: [{ rule: 0, event: 0 }],
        duplicates: 0,
      });
      const { fired } = await store.apply(batch(rules, [["c", 57]], { lags: { c: 4 } }));
      expect(fired).toMatchObject([
        { windowStart: T0 + 57 * MIN, windowEnd: T0 + 61 * MIN, count: 3, eventIds: ["c", "a", "b"] },
      ]);
    });

    it("lateness is the source's lag, not the processing order: batches applied in reverse all count", async () => {
      const store = makeStore();
      const rules = [threshold({ lateness: 10 * MIN, within: 10 * MIN })];
      // The source delivered a, b (minutes 0, 1) long before c, d (days later); Vigil applies them last.
      expect(
        (
          await store.apply(
            batch(
              rules,
              [
                ["c", 3000],
                ["d", 3001],
              ],
              { sources: ["s"] },
            ),
          )
        ).fired,
      ).toEqual([]);
      const older = await store.apply(
        batch(
          rules,
          [
            ["a", 0],
            ["b", 1],
          ],
          { sources: ["s"] },
        ),
      );
      expect(older.late).toEqual([]);
      const { fired } = await store.apply(batch(rules, [["x", 2]], { sources: ["s"] }));
      expect(fired).toMatchObject([{ windowStart: T0, windowEnd: T0 + 2 * MIN, count: 3, eventIds: ["a", "b", "x"] }]);
    });

    it("source marks apply in seq order only, monotone, a seq applied twice once", async () => {
      const store = makeStore();
      expect((await store.advance("s", { seq: 2, delivered: T0 + 20 * MIN })).progress).toEqual({ seq: 0 });
      expect((await store.advance("s", { seq: 1, delivered: T0 + 10 * MIN, bound: T0 })).progress).toEqual({
        seq: 2,
        delivered: T0 + 20 * MIN,
        bound: T0,
      });
      expect((await store.advance("s", { seq: 1, delivered: T0 + 90 * MIN })).progress).toEqual({
        seq: 2,
        delivered: T0 + 20 * MIN,
        bound: T0,
      });
      expect((await store.advance("s", { seq: 3, delivered: T0 + 5 * MIN })).progress).toMatchObject({
        seq: 3,
        delivered: T0 + 20 * MIN,
      });
      expect((await store.advance("other", { seq: 1 })).progress).toEqual({ seq: 1 });
    });

    it("threshold: one alert per group and suppress span", async () => {
      const store = makeStore();
      const rules = [threshold({ suppress: 60 * MIN })];
      const rows = Array.from({ length: 180 }, (_, m) => [`e${m}`, m] as [string, number]);
      const { fired } = await store.apply(batch(rules, rows));
      expect(fired.map((f) => f.span)).toEqual([0, 1, 2].map((h) => Math.floor(T0 / (60 * MIN)) + h));
    });

    it("match: every event alerts once by id; a retried batch returns its first result", async () => {
      const store = makeStore();
      const rules = [match, { ...match, key: "m2" }];
      const first = batch(rules, [
        ["p", 0, 0],
        ["p", 0, 1],
        ["q", 1, 1],
      ]);
      const result = await store.apply(first);
      expect(result.fired.map((f) => [f.rule, f.event, f.eventIds])).toEqual([
        [0, 0, ["p"]],
        [1, 0, ["p"]],
        [1, 1, ["q"]],
      ]);
      expect(await store.apply(first)).toEqual(result);
      const redelivered = await store.apply(batch(rules, [["p", 0, 0]]));
      expect(redelivered).toEqual({ fired: [], late: [], duplicates: 1 });
    });

    it("sequence (ordered): a chain of two then one, with the chain per step", async () => {
      const store = makeStore();
      const rules = [sequence(true)];
      expect(
        (
          await store.apply(
            batch(rules, [
              ["s", 0, 0, "g", "1"],
              ["f1", 1, 0, "g", "0"],
              ["f2", 2, 0, "g", "0"],
            ]),
          )
        ).fired,
      ).toEqual([]);
      const { fired } = await store.apply(batch(rules, [["s2", 3, 0, "g", "1"]]));
      expect(fired).toEqual([
        {
          rule: 0,
          event: 0,
          group: "g",
          span: Math.floor((T0 + 3 * MIN) / (60 * MIN)),
          windowStart: T0 + MIN,
          windowEnd: T0 + 3 * MIN,
          count: 3,
          eventIds: ["f1", "f2", "s2"],
          chain: [["f1", "f2"], ["s2"]],
        },
      ]);
    });

    it("sequence (unordered): the steps in any order; an event matching two steps counts for one", async () => {
      const store = makeStore();
      const rules = [sequence(false)];
      expect(
        (
          await store.apply(
            batch(rules, [
              ["s", 0, 0, "g", "1"],
              ["both", 1, 0, "g", "0,1"],
            ]),
          )
        ).fired,
      ).toEqual([]);
      const { fired } = await store.apply(batch(rules, [["f", 2, 0, "g", "0"]]));
      expect(fired).toMatchObject([{ windowStart: T0, windowEnd: T0 + 2 * MIN, count: 3 }]);
    });

    it("absence: decided only once the watermark passes t(a) + within; an expected event in time prevents it", async () => {
      const store = makeStore();
      const rules = [absence()];
      await store.apply(
        batch(
          rules,
          [
            ["a1", 0, 0, "g", "0"],
            ["a2", 5, 0, "h", "0"],
            ["x", 20, 0, "g", "1"],
            ["x-late", 40, 0, "h", "1"],
          ],
          { sources: ["s"] },
        ),
      );
      // Watermark = delivered − lateness = 20 min: neither deadline (30, 35) is reached.
      expect(await store.advance("s", { seq: 1, delivered: T0 + 30 * MIN }, { id: "w1", rules })).toEqual({
        progress: { seq: 1, delivered: T0 + 30 * MIN },
        fired: [],
      });
      const { fired } = await store.advance("s", { seq: 2, delivered: T0 + 45 * MIN }, { id: "w2", rules });
      expect(fired).toEqual([
        {
          rule: 0,
          event: 0,
          group: "h",
          span: Math.floor((T0 + 5 * MIN) / (60 * MIN)),
          windowStart: T0 + 5 * MIN,
          windowEnd: T0 + 35 * MIN,
          count: 0,
          eventIds: ["a2"],
          data: "anchor a2",
        },
      ]);
      // The same watermark job again: the same result; another mark: nothing decided twice.
      expect((await store.advance("s", { seq: 2, delivered: T0 + 45 * MIN }, { id: "w2", rules })).fired).toEqual(
        fired,
      );
      expect((await store.advance("s", { seq: 3, delivered: T0 + 300 * MIN }, { id: "w3", rules })).fired).toEqual([]);
    });

    it("absence: marks out of order and a listed source not heard of yet hold decisions back", async () => {
      const store = makeStore();
      const rules = [absence({ sources: ["s", "t"] })];
      await store.apply(batch(rules, [["a", 0, 0, "g", "0"]], { sources: ["s"] }));
      expect((await store.advance("s", { seq: 2, delivered: T0 + 300 * MIN }, { rules })).fired).toEqual([]);
      expect((await store.advance("s", { seq: 1, delivered: T0 + 10 * MIN }, { rules })).fired).toEqual([]);
      // s is at 300 − 10 min now, but t is unknown: its bound decides once it comes.
      const { fired } = await store.advance("t", { seq: 1, bound: T0 + 30 * MIN }, { rules });
      expect(fired.map((f) => f.eventIds)).toEqual([["a"]]);
    });

    it("absence (silence): an event alerts when no later event of its group follows within `within`", async () => {
      const store = makeStore();
      const rules = [absence({ silence: true })];
      await store.apply(
        batch(
          rules,
          [
            ["e1", 0, 0, "g", "0,1"],
            ["e2", 10, 0, "g", "0,1"],
            ["e3", 100, 0, "g", "0,1"],
          ],
          { sources: ["s"] },
        ),
      );
      const { fired } = await store.advance("s", { seq: 1, delivered: T0 + 100 * MIN }, { rules });
      // e1 is followed by e2; e2 by nothing within 30 min; e3's deadline (130) is not reached.
      expect(fired.map((f) => [f.eventIds, f.windowEnd])).toEqual([[["e2"], T0 + 40 * MIN]]);
    });

    it("newValue: a value is new unless seen in [t - forgetAfter, t - lateness); the alert says when it was last seen", async () => {
      const store = makeStore();
      const rules = [newValue()];
      const first = await store.apply(
        batch(rules, [
          ["a", 0, 0, "g", "v1"],
          ["b", 30, 0, "g", "v1"],
        ]),
      );
      expect(first.fired).toEqual([
        {
          rule: 0,
          event: 0,
          group: "g",
          span: Math.floor(T0 / (60 * MIN)),
          windowStart: T0,
          windowEnd: T0,
          count: 1,
          eventIds: ["a"],
          value: "v1",
        },
      ]);
      expect((await store.apply(batch(rules, [["c", 120, 0, "g", "v1"]]))).fired).toEqual([]);
      const again = await store.apply(batch(rules, [["d", 120 + 25 * 60, 0, "g", "v1"]]));
      expect(again.fired).toMatchObject([{ eventIds: ["d"], value: "v1", lastSeen: T0 + 120 * MIN }]);
    });

    it("newValue: learning, and values beyond the cap forgotten and reported", async () => {
      const store = makeStore();
      const learning = [newValue({ learning: 120 * MIN })];
      expect(
        (
          await store.apply(
            batch(learning, [
              ["a", 0, 0, "g", "v1"],
              ["b", 100, 0, "g", "v2"],
            ]),
          )
        ).fired,
      ).toEqual([]);
      expect((await store.apply(batch(learning, [["c", 150, 0, "g", "v3"]]))).fired).toMatchObject([{ value: "v3" }]);
      const capped = makeStore();
      const result = await capped.apply(
        batch(
          [newValue({ maxValues: 1 })],
          [
            ["a", 0, 0, "g", "v1"],
            ["b", 1, 0, "g", "v2"],
            ["c", 2, 0, "g", "v1"],
          ],
        ),
      );
      expect(result.forgotten).toEqual([{ rule: 0, values: 2 }]);
      expect(result.fired.map((f) => f.eventIds[0])).toEqual(["a", "b"]);
    });

    it("newValue: batches applied out of their source's order wait for the watermark, then decide as in source order", async () => {
      const store = makeStore();
      const rules = [newValue({ learning: 120 * MIN })];
      const early = batch(
        rules,
        [
          ["a", 0, 0, "g", "v1"],
          ["b", 10, 0, "g", "v2"],
        ],
        { sources: ["s"] },
      );
      const later = batch(
        rules,
        [
          ["c", 130, 0, "g", "v1"],
          ["d", 140, 0, "g", "v3"],
        ],
        { sources: ["s"] },
      );
      // Applied in reverse: deciding now would see v1 as new at c and the group as still learning at d.
      expect((await store.apply(later)).fired).toEqual([]);
      expect((await store.apply(early)).fired).toEqual([]);
      expect((await store.advance("s", { seq: 2, delivered: T0 + 140 * MIN }, { rules })).fired).toEqual([]);
      // Mark 1 lets mark 2 apply: watermark 140 − 60 = 80 min passes every deadline (t − 60 min).
      const { fired } = await store.advance("s", { seq: 1, delivered: T0 + 10 * MIN }, { rules });
      expect(fired).toEqual([
        {
          rule: 0,
          event: 0,
          group: "g",
          span: Math.floor((T0 + 140 * MIN) / (60 * MIN)),
          windowStart: T0 + 140 * MIN,
          windowEnd: T0 + 140 * MIN,
          count: 1,
          eventIds: ["d"],
          value: "v3",
        },
      ]);
      // A batch after the marks: an event already past the watermark (t − 60 ≤ 80) is decided at
      // once; a newer one waits for the next mark.
      const next = await store.apply(
        batch(
          rules,
          [
            ["e", 150, 0, "g", "v4"],
            ["f", 125, 0, "g", "v5"],
          ],
          { sources: ["s"], lags: { f: 25 } },
        ),
      );
      expect(next.fired).toMatchObject([{ rule: 0, event: 1, eventIds: ["f"], value: "v5" }]);
      expect((await store.advance("s", { seq: 3, delivered: T0 + 150 * MIN }, { rules })).fired).toMatchObject([
        { rule: 0, event: 0, eventIds: ["e"], value: "v4" },
      ]);
    });

    it("travel: a pair too far apart for the time between them fires the later event's span, with both places", async () => {
      const store = makeStore();
      const rules = [travel()];
      expect((await store.apply(batch(rules, [["paris", 0, 0, "g", PARIS()]]))).fired).toEqual([]);
      // Paris to New York (about 5,840 km) in an hour.
      const { fired, late, duplicates } = await store.apply(batch(rules, [["ny", 60, 0, "g", NEW_YORK()]]));
      expect({ late, duplicates }).toEqual({ late: [], duplicates: 0 });
      expect(fired).toEqual([
        {
          rule: 0,
          event: 0,
          group: "g",
          span: Math.floor((T0 + 60 * MIN) / (60 * MIN)),
          windowStart: T0,
          windowEnd: T0 + 60 * MIN,
          count: 2,
          eventIds: ["paris", "ny"],
          data: `[${PARIS()},${NEW_YORK()}]`,
        },
      ]);
      // One alert per span: another impossible pair ending in the same span adds none.
      expect((await store.apply(batch(rules, [["lyon", 61, 0, "g", LYON()]]))).fired).toEqual([]);
    });

    it("travel: near misses (the same IP, too near, slow enough, beyond the horizon, within the accuracy, other groups)", async () => {
      const store = makeStore();
      const rules = [travel({ horizon: 12 * 60 * MIN })];
      const { fired } = await store.apply(
        batch(rules, [
          ["a", 0, 0, "same-ip", PARIS("9.9.9.9")],
          ["b", 30, 0, "same-ip", NEW_YORK("9.9.9.9")],
          ["c", 0, 0, "near", PARIS()],
          ["d", 1, 0, "near", VERSAILLES()], // 17 km: below minDistance
          ["e", 0, 0, "slow", PARIS()],
          ["f", 7 * 60, 0, "slow", NEW_YORK()], // 834 km/h
          ["g", 0, 0, "horizon", PARIS()],
          ["h", 12 * 60 + 1, 0, "horizon", NEW_YORK()], // 12h01 apart, horizon 12h
          ["i", 0, 0, "accuracy", PARIS("1.1.1.1", 100)],
          ["j", 10, 0, "accuracy", LYON()], // 392 km less 100 km… still far: fires below
          ["k", 0, 0, "wide", PARIS("1.1.1.1", 200)],
          ["l", 10, 0, "wide", at("5.5.5.5", 45.764, 4.8357, 150)], // 392 km less 350 km: 42 km < 100
          ["m", 0, 0, "one", PARIS()],
          ["n", 30, 0, "other", NEW_YORK()],
        ]),
      );
      expect(fired.map((f) => [f.group, f.eventIds])).toEqual([["accuracy", ["i", "j"]]]);
    });

    it("travel: order independent within the lateness, an id counts once, late events are refused, a minute at least", async () => {
      const store = makeStore();
      const rules = [travel()];
      await store.apply(batch(rules, [["ny", 60, 0, "g", NEW_YORK()]]));
      expect(
        (await store.apply(batch(rules, [["ny", 60, 0, "g", NEW_YORK()]]))).duplicates,
        "the same event again",
      ).toBe(1);
      // Delivered later than the earlier event, but within the lateness: the pair is the same.
      const { fired } = await store.apply(batch(rules, [["paris", 0, 0, "g", PARIS()]], { lags: { paris: 60 } }));
      expect(fired).toMatchObject([{ event: 0, windowStart: T0, windowEnd: T0 + 60 * MIN, eventIds: ["paris", "ny"] }]);
      const refused = await store.apply(batch(rules, [["old", 150, 0, "h", PARIS()]], { lags: { old: 61 } }));
      expect(refused).toEqual({ fired: [], late: [{ rule: 0, event: 0 }], duplicates: 0 });
      // Two events at the same time, 390 km apart: counted as a minute, not as an instant.
      const same = await store.apply(
        batch(rules, [
          ["x", 200, 0, "k", PARIS()],
          ["y", 200, 0, "k", LYON()],
        ]),
      );
      expect(same.fired).toMatchObject([{ group: "k", windowStart: T0 + 200 * MIN, eventIds: ["x", "y"] }]);
      // Paris to Rouen (112 km) in 30 s is 13,400 km/h, but over a minute 6,700 km/h: below 10,000.
      const fast = [{ ...travel({ maxSpeed: 10_000 }), key: "tr-fast" }];
      const rouen = at("6.6.6.6", 49.4432, 1.0999);
      const floor = await store.apply(
        batch(fast, [
          ["r1", 300, 0, "m", PARIS()],
          ["r2", 300.5, 0, "m", rouen],
        ]),
      );
      expect(floor.fired).toEqual([]);
    });

    it("kinds mix in one batch, and state keys keep rules apart", async () => {
      const store = makeStore();
      const rules = [threshold(), match, { ...threshold(), key: "t2" }];
      const { fired } = await store.apply(
        batch(rules, [
          ["a", 0, 0],
          ["a", 0, 1],
          ["a", 0, 2],
          ["b", 1, 0],
          ["b", 1, 2],
          ["c", 2, 0],
        ]),
      );
      expect(fired.map((f) => [f.rule, f.event])).toEqual([
        [1, 0],
        [0, 2],
      ]);
    });
  });
}
