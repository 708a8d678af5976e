import type { RuleStateRule } from "../../rule-state/rule-state.store.js";
import { firedSpans, recordFired } from "../kind-support.js";
import type { KindReference, ReferenceContext } from "../rule-kind.js";

interface Entry {
  id: string;
  time: number;
  value: string;
  /** What Redis sorts equal times by (the zset member). */
  member: string;
}

interface GroupState {
  entries: Map<string, Entry>;
}

/** This batch's groups with accepted events, per stream and group: their rules and the longest ttl (ctx.batch). */
const TOUCHED = "threshold";
type Touched = Map<string, { ttl: number; rules: Map<RuleStateRule, string> }>;

const byTimeThenMember = (a: Entry, b: Entry) =>
  a.time - b.time || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);

/**
 * Definition: span b of a group fires when some accepted event time tEnd with
 * floor(tEnd / suppress) = b ends a window (tEnd − within, tEnd] holding at least `count`
 * events (or distinct values), checked when an event of the window arrives. Events whose lag is
 * beyond the lateness are refused; an event id counts once per group. Spans are reported in the
 * order of the first window that makes them, with that window's count and events. Expiry as
 * threshold.lua: a group's events `ttl` after its last accepted event (rules counting the same
 * events share one log, whose ttl is the longest of those the batch touched), its fired spans
 * `ttl` after the last one fired.
 */
export const thresholdReference: KindReference = {
  update(ctx, rule, u) {
    const { count, within, suppress, lateness, distinct } = rule.params as {
      count: number;
      within: number;
      suppress: number;
      lateness: number;
      distinct: boolean;
    };
    const state = ctx.state<GroupState>(rule, u.group, () => ({ entries: new Map() }));
    if ((u.lag ?? 0) > lateness) return ctx.late(u);
    const id = ctx.eventIds[u.event]!;
    const value = u.value ?? "";
    const member = distinct ? `${Buffer.byteLength(value)}:${value}:${id}` : id;
    if (state.entries.has(member)) return ctx.duplicate(u);
    state.entries.set(member, { id, time: u.time, value, member });
    touch(ctx, rule, u.group);
    const fired = firedSpans(ctx, rule, u.group);

    const entries = [...state.entries.values()].sort(byTimeThenMember);
    // The windows the event is in: any other was checked when its own last event came (its span
    // fired then, or stays unfired though its fired spans expired before its events did).
    const ends = [...new Set(entries.map((e) => e.time))].filter((t) => t >= u.time && t < u.time + within);
    for (const tEnd of ends) {
      const span = Math.floor(tEnd / suppress);
      if (fired.has(span)) continue;
      const window = entries.filter((e) => e.time > tEnd - within && e.time <= tEnd);
      const size = distinct ? new Set(window.map((e) => e.value)).size : window.length;
      if (size < count) continue;
      recordFired(ctx, rule, u.group, span);
      ctx.fire({
        rule: u.rule,
        event: u.event,
        group: u.group,
        span,
        windowStart: window[0]!.time,
        windowEnd: tEnd,
        count: size,
        eventIds: window.slice(0, ctx.maxEventIds).map((e) => e.id),
      });
    }
  },

  finish(ctx) {
    const touched = (ctx.batch.get(TOUCHED) ?? new Map()) as Touched;
    for (const { ttl, rules } of touched.values()) for (const [rule, group] of rules) ctx.expire(rule, group, ttl);
  },
};

/** Notes a group with an accepted event, under its stream (the log rules counting the same events share). */
function touch(ctx: ReferenceContext, rule: RuleStateRule, group: string): void {
  let touched = ctx.batch.get(TOUCHED) as Touched | undefined;
  if (!touched) {
    touched = new Map();
    ctx.batch.set(TOUCHED, touched);
  }
  const log = `${String(rule.params.stream ?? rule.key)}\u0000${group}`;
  const entry = touched.get(log) ?? { ttl: 0, rules: new Map() };
  touched.set(log, entry);
  entry.ttl = Math.max(entry.ttl, Number(rule.params.ttl));
  entry.rules.set(rule, group);
}
