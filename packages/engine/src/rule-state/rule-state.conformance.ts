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
