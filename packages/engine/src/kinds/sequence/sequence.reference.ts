import { firedSpans, recordFired } from "../kind-support.js";
import type { KindReference } from "../rule-kind.js";

interface Entry {
  id: string;
  time: number;
  /** The (0-based) steps the event matches. */
  steps: number[];
}

interface GroupState {
  entries: Map<string, Entry>;
}

interface SequenceParams {
  counts: number[];
  within: number;
  suppress: number;
  lateness: number;
  ordered: boolean;
}

/** Every way to pick `size` items of `items`, in order. */
function* subsets<T>(items: readonly T[], size: number, start = 0, picked: T[] = []): Generator<T[]> {
  if (picked.length === size) {
    yield [...picked];
    return;
  }
  for (let i = start; i <= items.length - (size - picked.length); i++) {
    picked.push(items[i]!);
    yield* subsets(items, size, i + 1, picked);
    picked.pop();
  }
}

/**
 * Definition, by exhaustive search: disjoint sets S1…Sk of the given events, Si of exactly
 * counts[i] events matching step i, (ordered) max time of Si ≤ min time of S(i+1), whose last
 * event is at tEnd and whose first is more recent than tEnd − within. Exact-size sets suffice:
 * any larger chain contains one.
 */
function findChain(params: SequenceParams, entries: readonly Entry[], tEnd: number): Entry[][] | undefined {
  const inWindow = entries.filter((e) => e.time > tEnd - params.within && e.time <= tEnd);
  const k = params.counts.length;
  const chain: Entry[][] = [];
  const used = new Set<string>();
  const search = (step: number): boolean => {
    if (step === k) {
      const all = chain.flat();
      return all.some((e) => e.time === tEnd);
    }
    const floor = params.ordered && step > 0 ? Math.max(...chain[step - 1]!.map((e) => e.time)) : -Infinity;
    const candidates = inWindow.filter((e) => !used.has(e.id) && e.steps.includes(step) && e.time >= floor);
    for (const set of subsets(candidates, params.counts[step]!)) {
      chain.push(set);
      for (const e of set) used.add(e.id);
      const found = search(step + 1);
      if (found) return true;
      for (const e of set) used.delete(e.id);
      chain.pop();
    }
    return false;
  };
  return search(0) ? chain : undefined;
}

/**
 * Definition: span b of a group fires when some accepted event time tEnd with
 * floor(tEnd / suppress) = b ends a chain (findChain). Lateness, duplicates and expiry as threshold.
 */
export const sequenceReference: KindReference = {
  update(ctx, rule, u) {
    const params = rule.params as unknown as SequenceParams;
    const state = ctx.state<GroupState>(rule, u.group, () => ({ entries: new Map() }));
    if ((u.lag ?? 0) > params.lateness) return ctx.late(u);
    const id = ctx.eventIds[u.event]!;
    const steps = u.steps ?? [];
    const member = `${steps.join(",")}:${id}`;
    if (state.entries.has(member)) return ctx.duplicate(u);
    state.entries.set(member, { id, time: u.time, steps });
    ctx.expire(rule, u.group, Number(rule.params.ttl));
    const fired = firedSpans(ctx, rule, u.group);
    const entries = [...state.entries.values()];
    // The windows the event is in (as threshold).
    const ends = [...new Set(entries.map((e) => e.time))]
      .filter((t) => t >= u.time && t < u.time + params.within)
      .sort((a, b) => a - b);
    for (const tEnd of ends) {
      const span = Math.floor(tEnd / params.suppress);
      if (fired.has(span)) continue;
      const chain = findChain(params, entries, tEnd);
      if (!chain) continue;
      recordFired(ctx, rule, u.group, span);
      const all = chain.flat();
      ctx.fire({
        rule: u.rule,
        event: u.event,
        group: u.group,
        span,
        windowStart: Math.min(...all.map((e) => e.time)),
        windowEnd: tEnd,
        count: all.length,
        eventIds: chain
          .flatMap((set) => [...set].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1)).map((e) => e.id))
          .slice(0, ctx.maxEventIds),
        chain: chain.map((set) => [...set].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1)).map((e) => e.id)),
      });
    }
  },
};
