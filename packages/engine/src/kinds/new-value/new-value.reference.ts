import type { RuleStateRule } from "../../rule-state/rule-state.store.js";
import { statePart } from "../kind-support.js";
import type { KindReference, ReferenceContext } from "../rule-kind.js";

interface GroupState {
  /** Every accepted event's time, of any value (what learning asks about). */
  min?: number;
  max?: number;
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
  ttl: number;
}

/** An accepted event whose verdict waits for the watermark to reach t − lateness. */
interface Candidate {
  group: string;
  value: string;
  id: string;
  time: number;
  data?: string;
}

/** Candidates not decided yet, per rule (kept under the rule's state with group "\u0000pending"). */
const PENDING = "\u0000pending";
/** This batch's candidates (ctx.batch). */
const BATCH = "newValue";
/** The groups and group|values this batch accepted events of (ctx.batch). */
const TOUCHED = "newValue-touched";

const member = (c: Candidate): string => `${c.group}|${c.value}|${c.id}`;
const byDeadline =
  (lateness: (c: Candidate) => number) =>
  (a: Candidate, b: Candidate): number =>
    a.time - lateness(a) - (b.time - lateness(b)) || (member(a) < member(b) ? -1 : member(a) > member(b) ? 1 : 0);

const groupState = (ctx: ReferenceContext, rule: RuleStateRule, group: string): GroupState =>
  ctx.state<GroupState>(rule, group, () => ({ latest: new Map(), fired: new Set() }));

/** A value's accepted events in a group, id → time: a state of its own (new-value.lua's base:o:<value>). */
const occurrencesName = (group: string, value: string) => statePart(group, `o:${value}`);
const occurrencesOf = (ctx: ReferenceContext, rule: RuleStateRule, group: string, value: string) =>
  ctx.state<Map<string, number>>(rule, occurrencesName(group, value), () => new Map());

const pendingOf = (ctx: ReferenceContext, rule: RuleStateRule) => ctx.state<Candidate[]>(rule, PENDING, () => []);

/**
 * Expiry as new-value.lua: a group's state, and a value's events, carry no TTL while a candidate
 * of theirs is pending, else the rule's `ttl` from their last write or last decision.
 */
function keepWhilePending(ctx: ReferenceContext, rule: RuleStateRule, group: string, value?: string): void {
  const pending = pendingOf(ctx, rule).some((c) => c.group === group && (value === undefined || c.value === value));
  const name = value === undefined ? group : occurrencesName(group, value);
  ctx.expire(rule, name, pending ? undefined : Number(rule.params.ttl));
}

interface Touched {
  rule: RuleStateRule;
  group: string;
  value?: string;
}

function touched(ctx: ReferenceContext): Map<string, Touched> {
  let map = ctx.batch.get(TOUCHED) as Map<string, Touched> | undefined;
  if (!map) {
    map = new Map();
    ctx.batch.set(TOUCHED, map);
  }
  return map;
}

/** The verdict on a candidate, final once the rule's watermark reaches t − lateness. */
function verdict(
  ctx: ReferenceContext,
  rule: RuleStateRule,
  c: Candidate,
): { span: number; lastSeen: number | undefined } | undefined {
  const p = rule.params as unknown as NewValueParams;
  const state = groupState(ctx, rule, c.group);
  const learned = p.learning === 0 || (state.min !== undefined && state.min <= c.time - p.learning);
  if (!learned) return undefined;
  const earlier = [...occurrencesOf(ctx, rule, c.group, c.value).values()].filter((time) => time < c.time - p.lateness);
  const lastSeen = earlier.length ? Math.max(...earlier) : undefined;
  if (lastSeen !== undefined && lastSeen >= c.time - p.forget) return undefined;
  const span = Math.floor(c.time / p.suppress);
  const key = `${span}:${c.value}`;
  if (state.fired.has(key)) return undefined;
  state.fired.add(key);
  return { span, lastSeen };
}

function fire(
  ctx: ReferenceContext,
  c: Candidate,
  at: { rule: number; event: number; data?: string },
  v: { span: number; lastSeen: number | undefined },
): void {
  ctx.fire({
    rule: at.rule,
    event: at.event,
    group: c.group,
    span: v.span,
    windowStart: c.time,
    windowEnd: c.time,
    count: 1,
    eventIds: [c.id],
    value: c.value,
    ...(v.lastSeen === undefined ? {} : { lastSeen: v.lastSeen }),
    ...(at.data === undefined ? {} : { data: at.data }),
  });
}

/**
 * Definition: an accepted event e with value v qualifies iff the group has an accepted event at
 * or before t(e) − learning (learning 0: always) and no accepted event of value v lies in
 * [t(e) − forgetAfter, t(e) − lateness); one alert per group, value and suppress span. Beyond
 * maxValues values per group, the value seen least recently (ties: the smaller value) is
 * forgotten with its events. Each accepted event's verdict is taken once the rule's watermark
 * reaches t(e) − lateness (no event it asks about is still to come, see new-value.lua): at the
 * end of its batch if the watermark is already there (or no source is known at all), else in
 * the watermark call that gets there; candidates in (deadline, group|value|id) order. Expiry:
 * see keepWhilePending.
 */
export const newValueReference: KindReference = {
  update(ctx, rule, u) {
    const p = rule.params as unknown as NewValueParams;
    const state = groupState(ctx, rule, u.group);
    if ((u.lag ?? 0) > p.lateness) return ctx.late(u);
    const value = u.value!;
    const id = ctx.eventIds[u.event]!;
    const events = occurrencesOf(ctx, rule, u.group, value);
    if (events.has(id)) return ctx.duplicate(u);
    events.set(id, u.time);
    touched(ctx).set(`${rule.key}\u0000${u.group}`, { rule, group: u.group });
    touched(ctx).set(`${rule.key}\u0000${occurrencesName(u.group, value)}`, { rule, group: u.group, value });
    state.min = Math.min(state.min ?? u.time, u.time);
    state.max = Math.max(state.max ?? u.time, u.time);
    state.latest.set(value, Math.max(state.latest.get(value) ?? u.time, u.time));
    // Already final: an occurrence in [t − forgetAfter, t − lateness) means not new, whatever comes.
    const seenBefore = [...events.values()].some((time) => time >= u.time - p.forget && time < u.time - p.lateness);
    let batch = ctx.batch.get(BATCH) as
      | { rule: RuleStateRule; index: number; event: number; c: Candidate }[]
      | undefined;
    if (!batch) {
      batch = [];
      ctx.batch.set(BATCH, batch);
    }
    if (!seenBefore)
      batch.push({
        rule,
        index: u.rule,
        event: u.event,
        c: { group: u.group, value, id, time: u.time, ...(u.data === undefined ? {} : { data: u.data }) },
      });
    if (state.latest.size > p.maxValues) {
      const [oldest] = [...state.latest.entries()].sort(
        ([va, ta], [vb, tb]) => ta - tb || (va < vb ? -1 : va > vb ? 1 : 0),
      );
      state.latest.delete(oldest![0]);
      ctx.expire(rule, occurrencesName(u.group, oldest![0]), 0);
      touched(ctx).delete(`${rule.key}\u0000${occurrencesName(u.group, oldest![0])}`);
      ctx.forgotten(u);
    }
  },

  finish(ctx, watermarkOf) {
    const batch = (ctx.batch.get(BATCH) ?? []) as { rule: RuleStateRule; index: number; event: number; c: Candidate }[];
    const lateness = new Map(batch.map((b) => [b.c, Number(b.rule.params.lateness)]));
    const order = byDeadline((c) => lateness.get(c)!);
    for (const b of [...batch].sort((x, y) => order(x.c, y.c) || x.index - y.index)) {
      if (b.c.time - Number(b.rule.params.lateness) <= watermarkOf(b.rule)) {
        const v = verdict(ctx, b.rule, b.c);
        if (v) fire(ctx, b.c, { rule: b.index, event: b.event }, v);
      } else pendingOf(ctx, b.rule).push(b.c);
    }
    for (const t of touched(ctx).values()) keepWhilePending(ctx, t.rule, t.group, t.value);
  },

  decide(ctx, rule, index, watermark) {
    const p = rule.params as unknown as NewValueParams;
    const pending = pendingOf(ctx, rule);
    const due = pending.filter((c) => c.time - p.lateness <= watermark).sort(byDeadline(() => p.lateness));
    for (const c of due) {
      pending.splice(pending.indexOf(c), 1);
      const v = verdict(ctx, rule, c);
      if (v) fire(ctx, c, { rule: index, event: 0, ...(c.data === undefined ? {} : { data: c.data }) }, v);
    }
    for (const c of due) {
      keepWhilePending(ctx, rule, c.group, c.value);
      keepWhilePending(ctx, rule, c.group);
    }
  },
};
