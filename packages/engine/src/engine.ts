import Mustache from "mustache";
import {
  eventTimeMs,
  silentLogger,
  type Alert,
  type AuditEvent,
  type Logger,
  type Metrics,
  type SourceMark,
} from "@vigil/core";
import type { RuleKindName } from "./kinds/kind-names.js";
import { hashKey } from "./kinds/kind-support.js";
import { kindOf } from "./kinds/registry.js";
import type { AlertParts, KindPlan, RuleKind } from "./kinds/rule-kind.js";
import { stateKeyOf } from "./kinds/state-key.js";
import { compileCondition } from "./condition.js";
import { residualCondition, RuleIndex } from "./rule-index.js";
import type { LoadedRule } from "./rule-loader.js";
import type { Rule } from "./rule-schema.js";
import type {
  FiredState,
  RuleStateBatch,
  RuleStateRule,
  RuleStateStore,
  RuleStateUpdate,
  SourceProgress,
} from "./rule-state/rule-state.store.js";

export { matchAlertId, windowAlertId } from "./kinds/kind-support.js";

/** The rule id of "source blind" alerts (see Engine.blindSources). */
export const SOURCE_BLIND_RULE_ID = "vigil.source-blind";

/** A rule compiled by its kind. */
export interface CompiledRule {
  rule: Rule;
  kindName: RuleKindName;
  kind: RuleKind<unknown>;
  plan: KindPlan;
  /** Where its state lives; see stateKeyOf. */
  stateKey: string;
  test(event: unknown): boolean;
}

/** What the rules make of a batch before the store is involved. */
export interface Evaluation {
  batch: Omit<RuleStateBatch, "batchId">;
  /** The batch's events that contribute to some rule, aligned with batch.eventIds. */
  events: AuditEvent[];
  /** Engine rule index of each of the batch's rules. */
  ruleOf: number[];
  /** The groupBy values of each (batch rule, group) touched, keyed `${rule}\u0000${group}`. */
  groupValues: Map<string, unknown[]>;
}

/** Where a batch comes from, as its `vigil-events` job says (see EventBatchJob). */
export interface BatchDelivery {
  /** The sources that delivered the batch; their watermarks then hold back the trimming of state. */
  sources?: readonly string[];
  /** Per event id, its lag in its source's delivery order (ms, only those above 0; core's DeliveryOrder). */
  lags?: Readonly<Record<string, number>>;
}

export interface BatchOutcome {
  alerts: Alert[];
  /** Events that matched no rule. */
  unmatched: number;
  duplicates: number;
  late: { eventId: string; ruleId: string }[];
}

/** Group keys recur batch after batch; hashing each once saves work on the hot path. */
const groupHashes = new Map<string, string>();
function groupHash(valuesJson: string): string {
  let hash = groupHashes.get(valuesJson);
  if (hash === undefined) {
    if (groupHashes.size >= 100_000) groupHashes.clear();
    hash = hashKey("group", valuesJson).slice(0, 24);
    groupHashes.set(valuesJson, hash);
  }
  return hash;
}

const renderPlain = (template: string, view: unknown): string =>
  Mustache.render(template, view, {}, { escape: (value: unknown) => String(value) });

/** Compiles a loaded rule with its kind. */
export function compileRule({ rule, condition }: Pick<LoadedRule, "rule" | "condition">): CompiledRule {
  const { kind, spec } = kindOf(rule);
  const plan = kind.compile(rule, spec);
  return { rule, kindName: kind.name, kind, plan, stateKey: stateKeyOf(rule, kind.name, plan), test: condition.test };
}

/**
 * Evaluates rules over batches of events: JsonLogic in process, rule state in a RuleStateStore.
 * Stateless apart from the store, so any number of engine workers can share one Redis.
 */
export class Engine {
  private readonly rules: CompiledRule[];
  private readonly logger: Logger;
  /** Which rules an event can possibly match (rule-index.ts); every rule when the index is off. */
  private readonly candidates: (event: AuditEvent) => readonly number[];
  /**
   * For candidates the index keyed: each rule's condition without the field clauses the index has
   * already found true (rule-index.ts residualCondition). Unset when the index is off.
   */
  private readonly keyed?: { unkeyed: readonly number[]; tests: ((event: unknown) => boolean)[] };

  constructor(
    loaded: readonly LoadedRule[],
    private readonly store: RuleStateStore,
    private readonly options: {
      logger?: Logger;
      metrics?: Metrics;
      now?: () => Date;
      /** Test only the rules an event can match (default true); off, every rule sees every event. */
      ruleIndex?: boolean;
    } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.rules = loaded.filter((l) => l.rule.enabled).map(compileRule);
    if (options.ruleIndex === false) {
      const all = this.rules.map((_, i) => i);
      this.candidates = () => all;
    } else {
      // A kind with steps (sequence) also needs one of its step conditions: the index sees them too.
      const index = new RuleIndex(this.rules.map((r) => ({ when: r.rule.when, anyOf: r.plan.anyOf })));
      this.candidates = (event) => index.candidates(event);
      this.keyed = {
        unkeyed: index.unkeyed,
        tests: this.rules.map((r) => {
          const residual = residualCondition(r.rule.when);
          return residual === r.rule.when ? r.test : compileCondition(residual).test;
        }),
      };
    }
  }

  /** Ids of the rules this engine evaluates. */
  get ruleIds(): string[] {
    return this.rules.map((r) => r.rule.id);
  }

  /** The compiled rules, in load order (their kinds and state keys). */
  get compiledRules(): readonly CompiledRule[] {
    return this.rules;
  }

  /** Runs every rule over the events: pure CPU, no Redis. */
  evaluate(events: readonly AuditEvent[], lags?: Readonly<Record<string, number>>): Evaluation {
    const eventIds: string[] = [];
    const matchedEvents: AuditEvent[] = [];
    const batchRules: RuleStateRule[] = [];
    const ruleOf: number[] = [];
    const batchRuleIndex = new Map<number, number>();
    const updates: RuleStateUpdate[] = [];
    const groupValues = new Map<string, unknown[]>();
    const rules = this.rules;
    for (const event of events) {
      let eventIndex = -1;
      let time = Number.NaN;
      const candidates = this.candidates(event);
      const tests = this.keyed && candidates !== this.keyed.unkeyed ? this.keyed.tests : undefined;
      for (let c = 0; c < candidates.length; c++) {
        const r = candidates[c]!;
        const compiled = rules[r]!;
        if (!(tests ? tests[r]!(event) : compiled.test(event))) continue;
        const read = compiled.plan.read(event);
        if (read === undefined) continue;
        if (eventIndex === -1) {
          eventIndex = eventIds.length;
          eventIds.push(event.id);
          matchedEvents.push(event);
          time = eventTimeMs(event);
        }
        let rule = batchRuleIndex.get(r);
        if (rule === undefined) {
          rule = batchRules.length;
          batchRuleIndex.set(r, rule);
          batchRules.push({ kind: compiled.kindName, key: compiled.stateKey, params: compiled.plan.params });
          ruleOf.push(r);
        }
        let group = "";
        if (read.group.length) {
          group = groupHash(JSON.stringify(read.group));
          const key = `${rule}\u0000${group}`;
          if (!groupValues.has(key)) groupValues.set(key, read.group);
        }
        const update: RuleStateUpdate = { rule, event: eventIndex, group, time };
        const lag = lags?.[event.id];
        if (lag) update.lag = lag;
        if (read.value !== undefined) update.value = read.value;
        if (read.steps !== undefined) update.steps = read.steps;
        if (read.data !== undefined) update.data = read.data;
        updates.push(update);
      }
    }
    return { batch: { eventIds, rules: batchRules, updates }, events: matchedEvents, ruleOf, groupValues };
  }

  /** Evaluates a batch and returns its alerts; the same batchId always yields the same alert ids. */
  async processBatch(
    events: readonly AuditEvent[],
    batchId: string,
    delivery: BatchDelivery = {},
  ): Promise<BatchOutcome> {
    const evaluation = this.evaluate(events, delivery.lags);
    const result = evaluation.batch.eventIds.length
      ? await this.store.apply({
          batchId,
          ...(delivery.sources?.length ? { sources: delivery.sources } : {}),
          ...evaluation.batch,
        })
      : { fired: [], late: [], duplicates: 0 };
    const createdAt = (this.options.now?.() ?? new Date()).toISOString();
    const alerts: Alert[] = [];
    for (const fired of result.fired) {
      const compiled = this.rules[evaluation.ruleOf[fired.rule]!]!;
      const groupValues = evaluation.groupValues.get(`${fired.rule}\u0000${fired.group}`) ?? [];
      const trigger = evaluation.events[fired.event]!;
      alerts.push(this.alertOf(compiled, fired, groupValues, trigger, evaluation.events, createdAt));
    }

    const late = result.late.map(({ rule, event }) => ({
      eventId: evaluation.events[event]!.id,
      ruleId: this.rules[evaluation.ruleOf[rule]!]!.rule.id,
    }));
    for (const item of late) {
      this.options.metrics?.eventsLate.inc({ rule: item.ruleId });
      this.logger.warn(
        { ruleId: item.ruleId, eventId: item.eventId },
        "event arrived later than the rule's lateness; not counted",
      );
    }
    for (const { rule, values } of result.forgotten ?? []) {
      this.options.metrics?.ruleValuesForgotten.inc({ rule: this.rules[evaluation.ruleOf[rule]!]!.rule.id }, values);
    }
    for (const alert of alerts)
      this.options.metrics?.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
    return {
      alerts,
      unmatched: events.length - evaluation.events.length,
      duplicates: result.duplicates,
      late,
    };
  }

  /** The alert of one fired state: the kind builds its parts, the engine the rest. */
  private alertOf(
    compiled: CompiledRule,
    fired: FiredState,
    groupValues: unknown[],
    trigger: AuditEvent,
    batchEvents: AuditEvent[],
    createdAt: string,
  ): Alert {
    const parts = compiled.kind.alert({
      rule: compiled.rule,
      plan: compiled.plan,
      fired,
      groupValues,
      trigger,
      batchEvents,
    });
    const groupKey = Object.fromEntries(compiled.plan.groupPaths.map((path, i) => [path, groupValues[i]]));
    return this.buildAlert(compiled.rule, compiled.kind.name, groupKey, parts, createdAt);
  }

  /**
   * Records a source's watermark mark (a `watermark` job; `id`: its job id, so a retry yields the
   * same alerts); marks apply in seq order only. Rules that decide on watermarks (absence) then
   * raise what the new watermark allows.
   */
  async advance(source: string, mark: SourceMark, id?: string): Promise<{ progress: SourceProgress; alerts: Alert[] }> {
    const deciding = this.rules.filter((r) => r.kind.decides);
    const result = await this.store.advance(source, mark, {
      ...(id === undefined ? {} : { id }),
      rules: deciding.map((r) => ({ kind: r.kindName, key: r.stateKey, params: r.plan.params })),
    });
    const createdAt = (this.options.now?.() ?? new Date()).toISOString();
    const alerts = result.fired.map((fired) => {
      const compiled = deciding[fired.rule]!;
      const kept = JSON.parse(fired.data ?? "{}") as { event?: AuditEvent; group?: unknown[] };
      const trigger = { raw: {}, ...kept.event } as AuditEvent;
      return this.alertOf(compiled, fired, kept.group ?? [], trigger, [trigger], createdAt);
    });
    for (const alert of alerts)
      this.options.metrics?.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
    return { progress: result.progress, alerts };
  }

  /**
   * "Source blind": each source whose watermark has not moved up for `afterMs` (wall clock) while
   * absence or newValue rules wait for it raises one alert naming it and those rules. The id is derived from
   * the source and when its watermark last moved, so one stall alerts once, whatever the replicas.
   */
  async blindSources(nowMs: number, afterMs: number): Promise<Alert[]> {
    const absence = this.rules.filter((r) => r.kind.decides);
    if (absence.length === 0) return [];
    const alerts: Alert[] = [];
    for (const status of await this.store.sources()) {
      if (nowMs - status.advancedAt < afterMs) continue;
      const blocked = absence
        .filter((r) => {
          const listed = (r.plan.params.sources as readonly string[] | undefined) ?? [];
          return listed.length === 0 || listed.includes(status.source);
        })
        .map((r) => r.rule.id);
      if (blocked.length === 0) continue;
      const since = new Date(status.advancedAt).toISOString();
      alerts.push({
        id: hashKey("source-blind", status.source, String(status.advancedAt)),
        ruleId: SOURCE_BLIND_RULE_ID,
        ruleName: "Source blind",
        severity: "high",
        title: `source ${status.source} is blind: its watermark has not moved since ${since}; absence and newValue rules wait for it: ${blocked.join(", ")}`,
        description:
          "A source's watermark stopped advancing (a failing or lagging connector, or a batch that failed and waits for `vigil jobs retry`). Absence and newValue rules that depend on it decide nothing until it moves again, so they raise no false absence and no new value too early.",
        groupKey: { source: status.source, rules: blocked.join(",") },
        count: 0,
        windowStart: since,
        windowEnd: new Date(nowMs).toISOString(),
        eventIds: [],
        events: [],
        tags: ["vigil.health"],
        createdAt: new Date(nowMs).toISOString(),
      });
    }
    for (const alert of alerts)
      this.options.metrics?.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
    return alerts;
  }

  private buildAlert(
    rule: Rule,
    kind: string,
    groupKey: Record<string, unknown>,
    parts: AlertParts,
    createdAt: string,
  ): Alert {
    const view = {
      ...parts.trigger,
      event: parts.trigger,
      count: parts.count,
      group: groupKey,
      windowStart: parts.windowStart,
      windowEnd: parts.windowEnd,
      rule: { id: rule.id, name: rule.name, severity: rule.severity },
      ...parts.view,
    };
    const alert: Alert = {
      id: parts.id,
      ruleId: rule.id,
      ruleName: rule.name,
      kind,
      provider: parts.trigger.provider,
      severity: rule.severity,
      title: rule.title ? renderPlain(rule.title, view) : rule.name,
      description: rule.description,
      groupKey,
      count: parts.count,
      windowStart: parts.windowStart,
      windowEnd: parts.windowEnd,
      eventIds: parts.eventIds,
      events: parts.summaries,
      tags: rule.tags,
      notify: rule.notify,
      createdAt,
    };
    if (rule.runbook) alert.runbook = rule.runbook;
    if (parts.chain) alert.chain = parts.chain;
    if (parts.value) alert.value = parts.value;
    if (parts.lastSeen) alert.lastSeen = parts.lastSeen;
    return alert;
  }
}
