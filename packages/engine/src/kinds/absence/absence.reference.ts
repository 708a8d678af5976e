import type { KindReference } from "../rule-kind.js";

interface Params {
  within: number;
  suppress: number;
  lateness: number;
  silence: boolean;
  ttl: number;
}

interface GroupState {
  /** Accepted events by id: time and whether each is an anchor / an expected event. */
  events: Map<string, { time: number; anchor: boolean; expected: boolean }>;
  fired: Set<number>;
}

interface Anchor {
  group: string;
  id: string;
  time: number;
  data?: string;
}

/** Anchors not decided yet, per rule (kept under the rule's state with group "\u0000anchors"). */
const ANCHORS = "\u0000anchors";
/** The groups a decision may still read, each until the watermark passes its newest event + within (absence.lua's rk:hold). */
const HOLD = "\u0000hold";

/**
 * Definition: an accepted anchor a alerts iff no accepted expected event b of its group has
 * t(a) ≤ t(b) < t(a) + within (silence: t(a) < t(b) < t(a) + within, any event of the group);
 * decided when the rule's watermark reaches t(a) + within; one alert per group and suppress span
 * of t(a). Events whose lag is beyond the lateness are refused; an id counts once per group.
 * Expiry as absence.lua: a group with an accepted event is held (no TTL) until the watermark
 * passes its newest event + within; the decision that passes it gives the group its `ttl`.
 */
export const absenceReference: KindReference = {
  update(ctx, rule, u) {
    const p = rule.params as unknown as Params;
    if ((u.lag ?? 0) > p.lateness) return ctx.late(u);
    const state = ctx.state<GroupState>(rule, u.group, () => ({ events: new Map(), fired: new Set() }));
    const id = ctx.eventIds[u.event]!;
    if (state.events.has(id)) return ctx.duplicate(u);
    const anchor = u.steps?.includes(0) ?? false;
    state.events.set(id, { time: u.time, anchor, expected: u.steps?.includes(1) ?? false });
    const hold = ctx.state<Map<string, number>>(rule, HOLD, () => new Map());
    const until = [...state.events.values()].reduce((newest, e) => Math.max(newest, e.time), u.time) + p.within;
    if (!hold.has(u.group)) ctx.expire(rule, u.group, undefined);
    hold.set(u.group, Math.max(hold.get(u.group) ?? until, until));
    if (anchor)
      ctx
        .state<Anchor[]>(rule, ANCHORS, () => [])
        .push({ group: u.group, id, time: u.time, ...(u.data === undefined ? {} : { data: u.data }) });
  },

  decide(ctx, rule, index, watermark) {
    const p = rule.params as unknown as Params;
    const anchors = ctx.state<Anchor[]>(rule, ANCHORS, () => []);
    const due = anchors
      .filter((a) => a.time + p.within <= watermark)
      .sort((a, b) => a.time + p.within - (b.time + p.within) || (a.group + a.id < b.group + b.id ? -1 : 1));
    for (const a of due) {
      anchors.splice(anchors.indexOf(a), 1);
      const state = ctx.state<GroupState>(rule, a.group, () => ({ events: new Map(), fired: new Set() }));
      const found = [...state.events.entries()].some(
        ([id, e]) =>
          e.expected && e.time < a.time + p.within && (p.silence ? e.time > a.time && id !== a.id : e.time >= a.time),
      );
      if (found) continue;
      const span = Math.floor(a.time / p.suppress);
      if (state.fired.has(span)) continue;
      state.fired.add(span);
      ctx.fire({
        rule: index,
        event: 0,
        group: a.group,
        span,
        windowStart: a.time,
        windowEnd: a.time + p.within,
        count: 0,
        eventIds: [a.id],
        ...(a.data === undefined ? {} : { data: a.data }),
      });
    }
    // Groups no decision can read any more get their TTL.
    const hold = ctx.state<Map<string, number>>(rule, HOLD, () => new Map());
    for (const [group, until] of hold)
      if (until <= watermark) {
        hold.delete(group);
        ctx.expire(rule, group, p.ttl);
      }
  },
};
