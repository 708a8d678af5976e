import type { SourceMark } from "@vigil/core";
import { RULE_KINDS } from "../kinds/registry.js";
import type { ReferenceContext } from "../kinds/rule-kind.js";
import {
  DEFAULT_BATCH_TTL_MS,
  type FiredState,
  type RuleStateBatch,
  type RuleStateOptions,
  type RuleStateResult,
  type AdvanceOptions,
  type AdvanceResult,
  type RuleStateRule,
  type RuleStateStore,
  type SourceProgress,
  type SourceStatus,
} from "./rule-state.store.js";

/** The memory store's options: the Redis store's, and the clock its TTLs count by. */
export interface MemoryRuleStateOptions extends Pick<RuleStateOptions, "maxEventIds" | "batchTtlMs"> {
  /** How long a match rule remembers an event id (default: for good). */
  seenTtlMs?: number;
  /** Wall-clock ms (default Date.now): what TTLs count by; a test moves it to let time pass. */
  now?: () => number;
}

/** A value that is gone once the clock reaches `expiresAt` (none: kept). */
interface Expiring<T> {
  value: T;
  expiresAt?: number;
}

/**
 * Rule state in memory, computed by each kind's plain definition (its `reference`). Slow and
 * unbounded by design: it is what the Redis store is tested against, not a production store.
 * Wall-clock expiry is modelled where the Redis store has it, by the `now` clock: each state
 * expires as its kind's Redis keys do (the reference calls `expire` where the handler sets a TTL:
 * group state `ttl` after it was last written, none while a pending decision reads it), seen
 * event ids after seenTtlMs, results after batchTtlMs. The trimming of state that nothing can
 * read any more is not modelled (it changes no outcome).
 */
export class MemoryRuleStateStore implements RuleStateStore {
  private readonly states = new Map<string, Expiring<unknown>>();
  private readonly seenEvents = new Map<string, number>();
  private readonly results = new Map<string, Expiring<RuleStateResult | AdvanceResult>>();
  private readonly progress = new Map<
    string,
    { applied: SourceProgress; pending: Map<number, SourceMark>; advancedAt: number; cap?: { seq: number; at: number } }
  >();

  private readonly now: () => number;

  constructor(private readonly options: MemoryRuleStateOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A result kept for retries, while its batchTtl lasts. */
  private cached(key: string): RuleStateResult | AdvanceResult | undefined {
    const entry = this.results.get(key);
    if (entry && entry.expiresAt! <= this.now()) this.results.delete(key);
    else if (entry) return structuredClone(entry.value);
    return undefined;
  }

  private keep(key: string, result: RuleStateResult | AdvanceResult): void {
    const ttl = this.options.batchTtlMs ?? DEFAULT_BATCH_TTL_MS;
    this.results.set(key, { value: structuredClone(result), expiresAt: this.now() + ttl });
  }

  async apply(batch: RuleStateBatch): Promise<RuleStateResult> {
    if (batch.eventIds.length === 0) return { fired: [], late: [], duplicates: 0 };
    const cached = this.cached(batch.batchId);
    if (cached) return cached as RuleStateResult;
    for (const source of batch.sources ?? []) this.sourceState(source);
    const fired: FiredState[] = [];
    const late: RuleStateResult["late"] = [];
    const duplicates = new Set<number>();
    const forgotten = new Map<number, number>();
    const ctx = this.context(batch.eventIds, fired, late, duplicates, forgotten);
    for (const update of batch.updates) {
      const rule = batch.rules[update.rule]!;
      RULE_KINDS[rule.kind].reference.update(ctx, rule, update);
    }
    const noSource = this.progress.size === 0;
    for (const kind of new Set(batch.rules.map((rule) => rule.kind)))
      RULE_KINDS[kind].reference.finish?.(ctx, (rule) =>
        noSource && !rule.params.sourcesKnown && !(rule.params.sources as unknown[] | undefined)?.length
          ? Infinity
          : this.watermarkOf(rule),
      );
    const result: RuleStateResult = { fired, late, duplicates: duplicates.size };
    if (forgotten.size)
      result.forgotten = [...forgotten].sort(([a], [b]) => a - b).map(([rule, values]) => ({ rule, values }));
    this.keep(batch.batchId, result);
    return result;
  }

  private context(
    eventIds: readonly string[],
    fired: FiredState[],
    late: RuleStateResult["late"],
    duplicates: Set<number>,
    forgotten: Map<number, number>,
  ): ReferenceContext {
    const { states, seenEvents } = this;
    const now = this.now();
    const seenTtl = this.options.seenTtlMs ?? Infinity;
    const live = (key: string) => {
      const entry = states.get(key);
      if (entry?.expiresAt === undefined || entry.expiresAt > now) return entry;
      states.delete(key);
      return undefined;
    };
    return {
      eventIds,
      maxEventIds: this.options.maxEventIds,
      batch: new Map(),
      firstSeen(id) {
        if ((seenEvents.get(id) ?? -Infinity) > now) return false;
        seenEvents.set(id, now + seenTtl);
        return true;
      },
      state<T>(rule: { key: string }, name: string, create: () => T): T {
        const key = `${rule.key}\u0000${name}`;
        let entry = live(key);
        if (entry === undefined) {
          entry = { value: create() };
          states.set(key, entry);
        }
        return entry.value as T;
      },
      expire(rule, name, ttl) {
        const entry = live(`${rule.key}\u0000${name}`);
        if (entry === undefined) return;
        if (ttl === undefined) delete entry.expiresAt;
        else entry.expiresAt = now + ttl;
      },
      fire: (f) => void fired.push(f),
      late: (u) => void late.push({ rule: u.rule, event: u.event }),
      duplicate: (u) => void duplicates.add(u.event),
      forgotten: (u) => void forgotten.set(u.rule, (forgotten.get(u.rule) ?? 0) + 1),
    };
  }

  private sourceState(source: string): {
    applied: SourceProgress;
    pending: Map<number, SourceMark>;
    advancedAt: number;
    cap?: { seq: number; at: number };
  } {
    let state = this.progress.get(source);
    if (!state) {
      state = { applied: { seq: 0 }, pending: new Map(), advancedAt: this.now() };
      this.progress.set(source, state);
    }
    return state;
  }

  /**
   * A rule's watermark: min over its sources (those it names, else every one known) of
   * min(max(delivered − lateness, bound), the cap of a reset not applied yet); +∞ when it names none.
   */
  private watermarkOf(rule: RuleStateRule): number {
    const listed = (rule.params.sources as readonly string[] | undefined) ?? [];
    const names = listed.length || rule.params.sourcesKnown ? listed : [...this.progress.keys()];
    if (names.length === 0) return rule.params.sourcesKnown ? Infinity : -Infinity;
    const lateness = Number(rule.params.lateness);
    return Math.min(
      ...names.map((name) => {
        const state = this.progress.get(name);
        if (!state) return -Infinity;
        const { applied, cap } = state;
        const floor = Math.max((applied.delivered ?? -Infinity) - lateness, applied.bound ?? -Infinity);
        return cap === undefined ? floor : Math.min(floor, cap.at);
      }),
    );
  }

  async capSource(source: string, seq: number, at: number): Promise<void> {
    this.sourceState(source).cap = { seq, at };
  }

  /** Marks apply in seq order only, each taking the source's delivered time and bound up (never down). */
  async advance(source: string, mark: SourceMark, options: AdvanceOptions = {}): Promise<AdvanceResult> {
    const cached = options.id === undefined ? undefined : this.cached(`advance\u0000${options.id}`);
    if (cached) return cached as AdvanceResult;
    const state = this.sourceState(source);
    const { applied, pending } = state;
    const before = [applied.delivered, applied.bound];
    if (mark.seq > applied.seq && !pending.has(mark.seq)) pending.set(mark.seq, mark);
    for (let next = pending.get(applied.seq + 1); next; next = pending.get(applied.seq + 1)) {
      pending.delete(next.seq);
      applied.seq = next.seq;
      if (next.reset !== undefined) {
        delete applied.delivered;
        applied.bound = next.reset;
        state.advancedAt = this.now();
        if (state.cap && state.cap.seq <= next.seq) delete state.cap;
      }
      if (next.delivered !== undefined)
        applied.delivered = Math.max(applied.delivered ?? next.delivered, next.delivered);
      if (next.bound !== undefined) applied.bound = Math.max(applied.bound ?? next.bound, next.bound);
    }
    if (applied.delivered !== before[0] || applied.bound !== before[1]) state.advancedAt = this.now();
    const fired: FiredState[] = [];
    const ctx = this.context([], fired, [], new Set(), new Map());
    for (const [index, rule] of (options.rules ?? []).entries())
      RULE_KINDS[rule.kind].reference.decide?.(ctx, rule, index, this.watermarkOf(rule));
    const result: AdvanceResult = { progress: { ...applied }, fired };
    if (options.id !== undefined) this.keep(`advance\u0000${options.id}`, result);
    return result;
  }

  async sources(): Promise<SourceStatus[]> {
    return [...this.progress.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([source, { applied, advancedAt }]) => ({ source, ...applied, advancedAt }));
  }
}
