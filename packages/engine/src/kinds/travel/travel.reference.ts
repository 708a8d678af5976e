import { firedSpans, recordFired } from "../kind-support.js";
import type { KindReference } from "../rule-kind.js";
import { isImpossible, type Located, type TravelParams } from "./travel.geo.js";

interface Entry {
  id: string;
  time: number;
  data: string;
  at: Located;
}

interface GroupState {
  entries: Map<string, Entry>;
}

const byTimeThenId = (a: Entry, b: Entry) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Definition: span b of a group fires when some pair of the group's accepted events is an
 * impossible travel (travel.geo.ts isImpossible) whose later event's time t has floor(t /
 * suppress) = b. Each new event is paired with the group's other events in (time, id) order; the
 * first pair of a span not fired yet fires it, with both events' data ([earlier, later]). Lateness,
 * duplicates (by event id) and expiry as threshold.
 */
export const travelReference: KindReference = {
  update(ctx, rule, u) {
    const params = rule.params as unknown as TravelParams & { suppress: number; lateness: number };
    const state = ctx.state<GroupState>(rule, u.group, () => ({ entries: new Map() }));
    if ((u.lag ?? 0) > params.lateness) return ctx.late(u);
    const id = ctx.eventIds[u.event]!;
    if (state.entries.has(id)) return ctx.duplicate(u);
    const self: Entry = { id, time: u.time, data: u.data!, at: JSON.parse(u.data!) as Located };
    state.entries.set(id, self);
    ctx.expire(rule, u.group, Number(rule.params.ttl));
    const fired = firedSpans(ctx, rule, u.group);
    for (const other of [...state.entries.values()].sort(byTimeThenId)) {
      if (other === self || !isImpossible(params, self.at, self.time, other.at, other.time)) continue;
      const [first, second] = [self, other].sort(byTimeThenId) as [Entry, Entry];
      const span = Math.floor(second.time / params.suppress);
      if (fired.has(span)) continue;
      recordFired(ctx, rule, u.group, span);
      ctx.fire({
        rule: u.rule,
        event: u.event,
        group: u.group,
        span,
        windowStart: first.time,
        windowEnd: second.time,
        count: 2,
        eventIds: [first.id, second.id].slice(0, ctx.maxEventIds),
        data: `[${first.data},${second.data}]`,
      });
    }
  },
};
