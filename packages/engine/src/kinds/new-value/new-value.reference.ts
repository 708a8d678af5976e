import type { KindReference } from "../rule-kind.js";

interface GroupState {
  /** Every accepted event's time, of any value (what learning asks about). */
  min?: number;
  max?: number;
  /** Per value: its accepted events, id → time. */
  occurrences: Map<string, Map<string, number>>;
  /** Per value: its latest time (for the cap). */
  latest: Map<string, number>;
  fired: Set<string>;
}

interface NewValueParams {
  learning: number;
  forget: number;
  lateness: number;
  suppress: number;
  maxValues: number;
}

/**
 * Definition: an accepted event e with value v qualifies iff the group has an accepted event at
 * or before t(e) − learning (learning 0: always) and no accepted event of value v lies in
 * [t(e) − forgetAfter, t(e) − lateness); one alert per group, value and suppress span. Beyond
 * maxValues values per group, the value seen least recently (ties: the smaller value) is
 * forgotten with its events.
 */
export const newValueReference: KindReference = {
  update(ctx, rule, u) {
    const p = rule.params as unknown as NewValueParams;
    const state = ctx.state<GroupState>(rule, u.group, () => ({
      occurrences: new Map(),
      latest: new Map(),
      fired: new Set(),
    }));
    if ((u.lag ?? 0) > p.lateness) return ctx.late(u);
    const value = u.value!;
    const id = ctx.eventIds[u.event]!;
    let events = state.occurrences.get(value);
    if (!events) {
      events = new Map();
      state.occurrences.set(value, events);
    }
    if (events.has(id)) return ctx.duplicate(u);
    const learned = p.learning === 0 || (state.min !== undefined && state.min <= u.time - p.learning);
    const earlier = [...events.values()].filter((time) => time < u.time - p.lateness);
    const lastSeen = earlier.length ? Math.max(...earlier) : undefined;
    events.set(id, u.time);
    state.min = Math.min(state.min ?? u.time, u.time);
    state.max = Math.max(state.max ?? u.time, u.time);
    state.latest.set(value, Math.max(state.latest.get(value) ?? u.time, u.time));
    if (learned && (lastSeen === undefined || lastSeen < u.time - p.forget)) {
      const span = Math.floor(u.time / p.suppress);
      const key = `${span}:${value}`;
      if (!state.fired.has(key)) {
        state.fired.add(key);
        const fired = {
          rule: u.rule,
          event: u.event,
          group: u.group,
          span,
          windowStart: u.time,
          windowEnd: u.time,
          count: 1,
          eventIds: [id],
          value,
        };
        ctx.fire(lastSeen === undefined ? fired : { ...fired, lastSeen });
      }
    }
    if (state.latest.size > p.maxValues) {
      const [oldest] = [...state.latest.entries()].sort(
        ([va, ta], [vb, tb]) => ta - tb || (va < vb ? -1 : va > vb ? 1 : 0),
      );
      state.latest.delete(oldest![0]);
      state.occurrences.delete(oldest![0]);
      ctx.forgotten(u);
    }
  },
};
