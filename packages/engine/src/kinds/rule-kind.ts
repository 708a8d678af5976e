import type { AlertEventSummary, AuditEvent } from "@vigil/core";
import type { z } from "zod";
import type { Rule } from "../rule-schema.js";
import type { FiredState, RuleStateParams, RuleStateRule, RuleStateUpdate } from "../rule-state/rule-state.store.js";

/** What one event that satisfies a rule's `when` contributes to the rule's state. */
export interface KindRead {
  /** The groupBy values (empty for match rules). */
  group: unknown[];
  value?: string;
  steps?: number[];
  /** Kept with the rule's state for a decision taken later, on a watermark. */
  data?: string;
}

/** A rule compiled by its kind. */
export interface KindPlan {
  /** Parameters of the rule's state (durations in ms), read by the Lua handler and the in-memory definition. */
  params: RuleStateParams;
  /** What the rule counts, beyond its kind and condition; hashed into its state key. */
  semantics: unknown;
  /** Conditions of which an event must satisfy at least one besides `when` (a sequence's steps), for the rule index. */
  anyOf?: readonly unknown[];
  /** The groupBy paths, in order (empty for match rules). */
  groupPaths: readonly string[];
  /** An event's contribution, once it satisfies `when`; undefined when it contributes nothing. */
  read(event: AuditEvent): KindRead | undefined;
}

/** The parts of an alert that a kind decides; the engine adds the rule's own fields and title. */
export interface AlertParts {
  id: string;
  trigger: AuditEvent;
  count: number;
  windowStart: string;
  windowEnd: string;
  eventIds: string[];
  summaries: AlertEventSummary[];
  /** Extra values the title template can use (sequence chains, newValue values). */
  view?: Record<string, unknown>;
  /**
   * What the kind found, beyond the window and events (a sequence's chain, a new value, the two
   * places of a travel): the alert's `evidence`, with `kind` added, checked by the kind's `evidence` schema.
   */
  evidence?: Record<string, unknown>;
}

interface AlertInput {
  rule: Rule;
  plan: KindPlan;
  fired: FiredState;
  groupValues: unknown[];
  trigger: AuditEvent;
  /** The batch's contributing events, in batch order, for summaries. */
  batchEvents: readonly AuditEvent[];
}

/** What the in-memory definition sees of the store while it applies one update. */
export interface ReferenceContext {
  readonly eventIds: readonly string[];
  readonly maxEventIds: number;
  /**
   * Whether a match rule sees the event id for the first time (shared by every match rule):
   * records it as seen for the store's seenTtl, which a second sighting does not renew.
   */
  firstSeen(id: string): boolean;
  /**
   * The state of one rule (by state key) and name (a group, or a part of one that expires on its
   * own: `group\u0000part`), created empty on first use and after it expired.
   */
  state<T>(rule: RuleStateRule, name: string, create: () => T): T;
  /**
   * Wall-clock expiry of a state, as the Redis handler gives its keys (PEXPIRE, PERSIST): gone
   * `ttl` ms from now (0: now, a DEL), or kept until expired again (undefined). A state is created
   * without one.
   */
  expire(rule: RuleStateRule, name: string, ttl: number | undefined): void;
  fire(fired: FiredState): void;
  late(update: RuleStateUpdate): void;
  duplicate(update: RuleStateUpdate): void;
  /** A newValue rule forgot a value of this update's group (maxValuesPerGroup). */
  forgotten(update: RuleStateUpdate): void;
  /** Per-batch scratch space, cleared between batches. */
  readonly batch: Map<string, unknown>;
}

/** A kind's plain definition: the reference the Redis handler is tested against. */
export interface KindReference {
  update(ctx: ReferenceContext, rule: RuleStateRule, update: RuleStateUpdate): void;
  /**
   * Kinds that decide on watermarks: everything the rule's watermark `watermark` (ms) allows to
   * decide, fired through ctx (`rule` is the rule's index among the decided rules).
   */
  decide?(ctx: ReferenceContext, rule: RuleStateRule, index: number, watermark: number): void;
  /**
   * At the end of a batch (after every update of every kind): decide what the rules' watermarks
   * (`watermarkOf`, +∞ while no source is known at all) already allow of the batch's updates.
   */
  finish?(ctx: ReferenceContext, watermarkOf: (rule: RuleStateRule) => number): void;
}

/** The spec a kind's compile receives: its field's parsed value (undefined for match rules). */
type SpecOf<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * A rule kind: one folder with its schema (a rule's field named like the kind; none for match
 * rules), its compilation, its Lua handler (composed into the one rule-state script), its alert
 * building and the schema of the evidence it adds to an alert. kinds/registry.ts lists them.
 */
export interface RuleKind<S = z.ZodType | undefined> {
  /** The rule field that holds the kind's spec (its key in the registry). */
  readonly name: string;
  /** The schema of that field; undefined for match rules, which have none. */
  readonly schema: S;
  /** The schema of `alert.evidence` for this kind (without `kind`); none when it adds nothing. */
  readonly evidence?: z.ZodType;
  /** The Lua handler: a file beside the kind's module, composed into the rule-state script. */
  readonly lua: URL;
  readonly reference: KindReference;
  /** The kind decides when a watermark passes (its handler has `decide`): the engine gives it each mark. */
  readonly decides?: boolean;
  /**
   * What the kind adds to an alert's title view (see Engine.buildAlert): exact names, or `name.*`
   * for anything below `name`. Checked against every `{{…}}` of a rule's title at load.
   */
  readonly titleFields: readonly string[];
  /** The event field paths inside the kind's (unvalidated) spec (`groupBy`, `distinct`, …), checked at load. */
  fieldPaths?(spec: unknown): { path: (string | number)[]; name: string }[];
  /** The JsonLogic conditions inside the kind's (unvalidated) spec, to check like `when`; paths below the kind's field. */
  conditions?(spec: unknown): { path: (string | number)[]; logic: unknown }[];
  compile(rule: Rule, spec: SpecOf<S>): KindPlan;
  alert(input: AlertInput): AlertParts;
}
