import type { KindReference } from "../rule-kind.js";

/** Definition: an event alerts for every match rule it satisfies, the first time its id is seen (within seenTtl). */
export const matchReference: KindReference = {
  update(ctx, _rule, u) {
    const key = `match-new:${u.event}`;
    let isNew = ctx.batch.get(key) as boolean | undefined;
    if (isNew === undefined) {
      isNew = ctx.firstSeen(ctx.eventIds[u.event]!);
      ctx.batch.set(key, isNew);
      if (!isNew) ctx.duplicate(u);
    }
    if (isNew) {
      ctx.fire({
        rule: u.rule,
        event: u.event,
        group: u.group,
        span: 0,
        windowStart: u.time,
        windowEnd: u.time,
        count: 1,
        eventIds: [ctx.eventIds[u.event]!],
      });
    }
  },
};
