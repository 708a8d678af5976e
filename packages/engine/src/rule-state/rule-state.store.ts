import type { SourceMark } from "@vigil/core";
import type { RuleKindName } from "../kinds/registry.js";

/** Parameters of one rule's state, as its kind's handler reads them (durations in ms). */
export type RuleStateParams = Readonly<
  Record<string, number | boolean | string | readonly string[] | readonly number[]>
>;

/** A rule a batch touches: its kind, the key its state lives under, and its parameters. */
export interface RuleStateRule {
  kind: RuleKindName;
  /** Derived from what the rule counts (see stateKeyOf), so cosmetic edits keep the state. */
  key: string;
  params: RuleStateParams;
}

/** One event's contribution to one rule's state, in the batch's order. */
export interface RuleStateUpdate {
  /** Index into the batch's rules. */
  rule: number;
  /** Index into the batch's events. */
  event: number;
  /** Stable hash of the group's groupBy values ("" for match rules). */
  group: string;
  /** Event time, ms since the epoch. */
  time: number;
  /**
   * How far (ms) the event lay behind the newest event its source had delivered before it
   * (core's DeliveryOrder); absent = 0. The rule refuses it as late iff lag > lateness.
   */
  lag?: number;
  /** Kind-specific value: the distinct value of a threshold, the value tuple of a newValue rule. */
  value?: string;
  /** Sequence rules: the (0-based) steps whose condition the event matches. */
  steps?: number[];
  /** What the kind keeps of the event for a later decision (an absence rule's anchor). */
  data?: string;
}

/** One batch of work for the store. */
export interface RuleStateBatch {
  /** Applying the same batchId again returns the first result unchanged. */
  batchId: string;
  /**
   * The sources that delivered the batch's events. A named source holds back the trimming of
   * state until its watermark (see SourceMark) says which events can still come; with no source
   * ever named, state is kept from each group's newest minus the lateness, which is safe only
   * when batches are applied in their source's order (rule tests).
   */
  sources?: readonly string[];
  /** Ids of the batch's events that contribute to some rule; updates point into it. */
  eventIds: string[];
  rules: RuleStateRule[];
  updates: RuleStateUpdate[];
}

/** A rule's state reached an alert: one per rule, group and span (and value). */
export interface FiredState {
  rule: number;
  /** The event whose arrival made the alert (index into the batch's events). */
  event: number;
  group: string;
  /** The epoch-aligned suppress span's index: floor(time / suppress). */
  span: number;
  windowStart: number;
  windowEnd: number;
  count: number;
  /** The events behind the alert, capped at the store's maxEventIds. */
  eventIds: string[];
  /** Sequence rules: per step, the ids of its events in the chain. */
  chain?: string[][];
  /** newValue rules: the value, and when it was last seen before (ms), if ever. */
  value?: string;
  lastSeen?: number;
  /** Decided on a watermark: the data the update kept (see RuleStateUpdate.data). */
  data?: string;
}

export interface RuleStateResult {
  fired: FiredState[];
  /** Updates refused because the event's lag is beyond the rule's lateness. */
  late: { rule: number; event: number }[];
  /** Events of the batch already counted before (by id), counted once each. */
  duplicates: number;
  /** newValue rules over their maxValuesPerGroup: how many values each forgot (absent when none). */
  forgotten?: { rule: number; values: number }[];
}

/**
 * Holds every rule's state (windows, chains, values seen) and applies batches of updates
 * to it. Implementations: RedisRuleStateStore (one Lua call per batch) and
 * MemoryRuleStateStore (the plain definition of each kind, the reference for tests).
 */
export interface RuleStateStore {
  /** Applies a batch atomically; the same batchId always yields the first result. */
  apply(batch: RuleStateBatch): Promise<RuleStateResult>;
  /**
   * Records a source's mark; marks apply in seq order only (a mark arriving before a lower one
   * waits for it), a seq already applied is ignored. Returns the source's applied watermark.
   */
  advance(source: string, mark: SourceMark, options?: AdvanceOptions): Promise<AdvanceResult>;
  /** Every source the store has heard of (by a batch or a mark), with its progress. */
  sources(): Promise<SourceStatus[]>;
  /**
   * `vigil sources reset`: until the source's reset mark `seq` is applied (in seq order, see
   * SourceMark.reset), its floor is capped at `at`, so no decision waiting on it is taken on the
   * strength of marks made before the reset.
   */
  capSource(source: string, seq: number, at: number): Promise<void>;
}

export interface SourceStatus extends SourceProgress {
  source: string;
  /** Wall-clock ms when its watermark last moved up (or when it was first heard of). */
  advancedAt: number;
}

export interface AdvanceOptions {
  /** Applying the same id again returns the first result unchanged (the watermark job's id). */
  id?: string;
  /** The rules that decide on watermarks (absence): each decides what the new watermark allows. */
  rules?: RuleStateRule[];
}

export interface AdvanceResult {
  progress: SourceProgress;
  /** Alerts decided (`rule` indexes AdvanceOptions.rules; `event` is 0, the decision has its `data`). */
  fired: FiredState[];
  /** More decisions are due than one call takes (RuleStateOptions.decisionBudget): call again. */
  more?: boolean;
}

/** What the store knows of a source's progress: its marks applied contiguously up to `seq`. */
export interface SourceProgress {
  /** The last mark applied (0: none yet). */
  seq: number;
  /** The newest event time delivered up to that mark (ms; undefined: none yet). */
  delivered?: number;
  /** The source's own bound up to that mark (ms), if it gives one. */
  bound?: number;
}

/** How long a batch's result is kept for its retries unless RuleStateOptions.batchTtlMs says (one day). */
export const DEFAULT_BATCH_TTL_MS = 86_400_000;

/** Options both implementations share. */
export interface RuleStateOptions {
  /** How long a match rule remembers an event id, so a redelivered event alerts once. */
  seenTtlMs: number;
  /** How long a batch's result is kept for its retries (default one day). */
  batchTtlMs?: number;
  /** At most this many event ids per alert. */
  maxEventIds: number;
  /** Due decisions taken per watermark call (default 250), so no call blocks Redis for long. */
  decisionBudget?: number;
}
