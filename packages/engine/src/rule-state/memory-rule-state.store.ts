import type { SourceMark } from "@vigil/core";
import { RULE_KINDS } from "../kinds/registry.js";
import type { ReferenceContext } from "../kinds/rule-kind.js";
import type {
  FiredState,
  RuleStateBatch,
  RuleStateOptions,
  RuleStateResult,
  RuleStateStore,
  SourceProgress,
} from "./rule-state.store.js";

/**
 * Rule state in memory, computed by each kind's plain definition (its `reference`). Slow and
 * unbounded by design: it is what the Redis store is tested against, not a production store.
 * Wall-clock expiry (TTLs) is not modelled.
 */
export class MemoryRuleStateStore implements RuleStateStore {
  private readonly states = new Map<string, unknown>();
  private readonly seenEvents = new Set<string>();
  private readonly results = new Map<string, RuleStateResult>();
  private readonly progress = new Map<string, { applied: SourceProgress; pending: Map<number, SourceMark> }>();

  constructor(private readonly options: Pick<RuleStateOptions, "maxEventIds">) {}

  async apply(batch: RuleStateBatch): Promise<RuleStateResult> {
    if (batch.eventIds.length === 0) return { fired: [], late: [], duplicates: 0 };
    const cached = this.results.get(batch.batchId);
    if (cached) return structuredClone(cached);
    const fired: FiredState[] = [];
    const late: RuleStateResult["late"] = [];
    const duplicates = new Set<number>();
    const forgotten = new Map<number, number>();
    const states = this.states;
    const ctx: ReferenceContext = {
      eventIds: batch.eventIds,
      maxEventIds: this.options.maxEventIds,
      seenEvents: this.seenEvents,
      batch: new Map(),
      state<T>(rule: { key: string }, group: string, create: () => T): T {
        const key = `${rule.key}\u0000${group}`;
        let state = states.get(key) as T | undefined;
        if (state === undefined) {
          state = create();
          states.set(key, state);
        }
        return state;
      },
      fire: (f) => void fired.push(f),
      late: (u) => void late.push({ rule: u.rule, event: u.event }),
      duplicate: (u) => void duplicates.add(u.event),
      forgotten: (u) => void forgotten.set(u.rule, (forgotten.get(u.rule) ?? 0) + 1),
    };
    for (const update of batch.updates) {
      const rule = batch.rules[update.rule]!;
      RULE_KINDS[rule.kind].reference.update(ctx, rule, update);
    }
    const result: RuleStateResult = { fired, late, duplicates: duplicates.size };
    if (forgotten.size)
      result.forgotten = [...forgotten].sort(([a], [b]) => a - b).map(([rule, values]) => ({ rule, values }));
    this.results.set(batch.batchId, structuredClone(result));
    return result;
  }

  /** Marks apply in seq order only, each taking the source's delivered time and bound up (never down). */
  async advance(source: string, mark: SourceMark): Promise<SourceProgress> {
    let state = this.progress.get(source);
    if (!state) {
      state = { applied: { seq: 0 }, pending: new Map() };
      this.progress.set(source, state);
    }
    const { applied, pending } = state;
    if (mark.seq > applied.seq && !pending.has(mark.seq)) pending.set(mark.seq, mark);
    for (let next = pending.get(applied.seq + 1); next; next = pending.get(applied.seq + 1)) {
      pending.delete(next.seq);
      applied.seq = next.seq;
      if (next.delivered !== undefined)
        applied.delivered = Math.max(applied.delivered ?? next.delivered, next.delivered);
      if (next.bound !== undefined) applied.bound = Math.max(applied.bound ?? next.bound, next.bound);
    }
    return { ...applied };
  }
}
