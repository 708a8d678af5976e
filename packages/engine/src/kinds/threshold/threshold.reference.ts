import type { KindReference } from "../rule-kind.js";

interface Entry {
  id: string;
  time: number;
  value: string;
  /** What Redis sorts equal times by (the zset member). */
  member: string;
}

interface GroupState {
  entries: Map<string, Entry>;
  fired: Set<number>;
  newest?: number;
}

const byTimeThenMember = (a: Entry, b: Entry) =>
  a.time - b.time || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);

/**
 * Definition: span b of a group fires when some accepted event time tEnd with
 * floor(tEnd / suppress) = b ends a window (tEnd − within, tEnd] holding at least `count`
 * events (or distinct values). Events whose lag is beyond the lateness are refused; an event id counts once per group. Spans are reported in the order of the first
 * window that makes them, with that window's count and events.
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
    const state = ctx.state<GroupState>(rule, u.group, () => ({ entries: new Map(), fired: new Set() }));
    if ((u.lag ?? 0) > lateness) return ctx.late(u);
    const id = ctx.eventIds[u.event]!;
    const value = u.value ?? "";
    const member = distinct ? `${Buffer.byteLength(value)}:${value}:${id}` : id;
    if (state.entries.has(member)) return ctx.duplicate(u);
    state.entries.set(member, { id, time: u.time, value, member });
    state.newest = Math.max(state.newest ?? u.time, u.time);

    const entries = [...state.entries.values()].sort(byTimeThenMember);
    const ends = [...new Set(entries.map((e) => e.time))];
    for (const tEnd of ends) {
      const span = Math.floor(tEnd / suppress);
      if (state.fired.has(span)) continue;
      const window = entries.filter((e) => e.time > tEnd - within && e.time <= tEnd);
      const size = distinct ? new Set(window.map((e) => e.value)).size : window.length;
      if (size < count) continue;
      state.fired.add(span);
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
};
