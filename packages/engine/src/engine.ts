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
import type { RuleKindName } from "./kinds/registry.js";
import { hashKey } from "./kinds/kind-support.js";
import { kindOf } from "./kinds/registry.js";
import type { AlertParts, KindPlan, RuleKind } from "./kinds/rule-kind.js";
import { stateKeyOf } from "./kinds/state-key.js";
import { compileCondition } from "./condition.js";
import type { IpGeo } from "./enrichment/ip-geo.js";
import { fieldClauses, residualCondition, RuleIndex } from "./rule-index.js";
import type { LoadedRule } from "./rule-loader.js";
import type { Rule } from "./rule-schema.js";
import { exceptionTest } from "./rule-tuning.js";
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
  kind: RuleKind;
  plan: KindPlan;
  /** Where its state lives; see stateKeyOf. */
  stateKey: string;
  /** `when`, and none of the rule's exceptions. */
  test(event: unknown): boolean;
  /** The rule's exceptions as one test (undefined without any). */
  excepted?: (event: AuditEvent) => boolean;
}

/** A configured source as the engine sees it: its name, and the provider of its events when known. */
export interface SourceIdentity {
  name: string;
  /** The provider its events carry; undefined when any (a file source that does not declare one). */
  provider?: string;
}

/** A source's watermark as `vigil status` shows it (see Engine.watermarks). */
export interface SourceWatermark {
  source: string;
  /** The newest event time (ms) delivered up to its last mark applied. */
  delivered?: number;
  /** Its bound (ms): it delivers nothing below it any more. */
  bound?: number;
  /** Wall-clock ms when its watermark last moved (absent: never heard of). */
  advancedAt?: number;
  /** Rules deciding on watermarks whose watermark this source is the lowest of. */
  holdsBack: string[];
}

/**
 * The sources whose events a rule can read: those it lists (`sources:`), else the configured
 * sources whose name and provider its `when` allows (its top-level provider and source clauses;
 * none: every configured source). Its watermark is the minimum over them.
 */
export function sourcesOfRule(
  compiled: Pick<CompiledRule, "rule" | "plan">,
  configured: readonly SourceIdentity[],
): string[] {
  const listed = compiled.plan.params.sources as readonly string[] | undefined;
  if (listed?.length) return [...listed];
  const clauses = fieldClauses(compiled.rule.when).filter((c) => c.field === "provider" || c.field === "source");
  return configured
    .filter((source) =>
      clauses.every((clause) =>
        clause.field === "source"
          ? clause.test(source.name)
          : source.provider === undefined || clause.test(source.provider),
      ),
    )
    .map((source) => source.name);
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
  const { name, kind, spec } = kindOf(rule);
  const plan = kind.compile(rule, spec as never);
  const excepted = exceptionTest(rule.exceptions, (logic) => compileCondition(logic).test);
  return {
    rule,
    kindName: name,
    kind,
    plan,
    // Exceptions narrow what the rule sees without changing what it counts, so its state key stays.
    stateKey: stateKeyOf(rule, name, plan),
    test: withExceptions(condition.test, excepted),
    excepted,
  };
}

function withExceptions(
  test: (event: unknown) => boolean,
  excepted: ((event: AuditEvent) => boolean) | undefined,
): (event: unknown) => boolean {
  return excepted ? (event) => test(event) && !excepted(event as AuditEvent) : test;
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
  /** Each rule as the store sees it (kind, state key, parameters with the sources it reads), made once. */
  private readonly stateRules: RuleStateRule[];
  private readonly startedAtMs = Date.now();
  /** Per rule, the sources it reads (undefined: every source the store knows; see sourcesOfRule). */
  private readonly ruleSources: (readonly string[] | undefined)[];
  /** Per rule, whether it can read `geo` (see readsGeo): only events such a rule tests are enriched. */
  private readonly geoRules: boolean[];

  constructor(
    loaded: readonly LoadedRule[],
    private readonly store: RuleStateStore,
    private readonly options: {
      logger?: Logger;
      metrics?: Metrics;
      now?: () => Date;
      /** Test only the rules an event can match (default true); off, every rule sees every event. */
      ruleIndex?: boolean;
      /**
       * The configured sources (every role reads the same config; replay and rule tests: the sources
       * of their input). Each rule's watermark is then the minimum over the sources it can read; a
       * source not listed here holds nothing back. Undefined: every source the store has heard of.
       */
      sources?: readonly SourceIdentity[];
      /**
       * IP enrichment (enrichment/ip-geo.ts): an event gains `geo` before a rule that can read it
       * (readsGeo) tests it; no other rule can tell whether it has.
       */
      geo?: Pick<IpGeo, "enrich">;
    } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.rules = loaded.filter((l) => l.rule.enabled).map(compileRule);
    this.geoRules = this.rules.map((r) => readsGeo(r.rule));
    const configured = options.sources;
    this.ruleSources = this.rules.map((r) => (configured ? sourcesOfRule(r, configured) : undefined));
    this.stateRules = this.rules.map((r, i) => {
      const sources = this.ruleSources[i];
      return {
        kind: r.kindName,
        key: r.stateKey,
        params: sources === undefined ? r.plan.params : { ...r.plan.params, sources, sourcesKnown: true },
      };
    });
    if (configured) {
      const names = new Set(configured.map((source) => source.name));
      for (const r of this.rules)
        for (const name of (r.plan.params.sources as readonly string[] | undefined) ?? [])
          if (!names.has(name))
            this.logger.warn(
              { ruleId: r.rule.id, source: name },
              "rule lists a source that is not configured: its decisions wait until that source delivers a watermark",
            );
    }
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
          return residual === r.rule.when ? r.test : withExceptions(compileCondition(residual).test, r.excepted);
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

  /** The configured sources' names (undefined: not given; every source the store knows counts). */
  get configuredSources(): string[] | undefined {
    return this.options.sources?.map((source) => source.name);
  }

  /** The state keys of the rules, for the sweep (RuleStateSweeper.markLive). */
  get stateKeys(): string[] {
    return this.rules.map((r) => r.stateKey);
  }

  /**
   * Each source's watermark (`vigil status`): the newest event time delivered up to its last mark
   * applied, its bound, and the rules that decide on watermarks it holds back (those whose
   * watermark it is the lowest of, or which wait for it to be heard of at all).
   */
  async watermarks(): Promise<SourceWatermark[]> {
    const known = new Map((await this.store.sources()).map((status) => [status.source, status]));
    const names = this.configuredSources ?? [...known.keys()];
    const floor = (name: string, lateness: number) => {
      const status = known.get(name);
      if (!status) return Number.NEGATIVE_INFINITY;
      return Math.max(
        (status.delivered ?? Number.NEGATIVE_INFINITY) - lateness,
        status.bound ?? Number.NEGATIVE_INFINITY,
      );
    };
    return names.map((name) => {
      const status = known.get(name);
      const holdsBack = this.rules.flatMap((r, i) => {
        if (!r.kind.decides) return [];
        const sources = this.ruleSources[i] ?? [...known.keys()];
        if (!sources.includes(name)) return [];
        const lateness = Number(r.plan.params.lateness);
        const lowest = Math.min(...sources.map((source) => floor(source, lateness)));
        return floor(name, lateness) === lowest ? [r.rule.id] : [];
      });
      return {
        source: name,
        ...(status?.delivered === undefined ? {} : { delivered: status.delivered }),
        ...(status?.bound === undefined ? {} : { bound: status.bound }),
        ...(status ? { advancedAt: status.advancedAt } : {}),
        holdsBack,
      };
    });
  }

  /** The sources each rule reads, by rule id (undefined: every source the store knows). */
  sourcesByRule(): Map<string, readonly string[] | undefined> {
    return new Map(this.rules.map((r, i) => [r.rule.id, this.ruleSources[i]]));
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
    const geo = this.options.geo;
    const geoRules = this.geoRules;
    for (const delivered of events) {
      // Enrichment copies the event: done once, and only when a rule that can read `geo` is about to
      // test it (an alert's event summaries carry no geo, so no other rule can tell). The index keys
      // on INDEXED_FIELDS only, never geo: candidates come first.
      let event = delivered;
      let enriched = !geo;
      let eventIndex = -1;
      let time = Number.NaN;
      const candidates = this.candidates(event);
      const tests = this.keyed && candidates !== this.keyed.unkeyed ? this.keyed.tests : undefined;
      for (let c = 0; c < candidates.length; c++) {
        const r = candidates[c]!;
        const compiled = rules[r]!;
        if (!enriched && geoRules[r]) {
          event = geo!.enrich(delivered);
          enriched = true;
          if (eventIndex !== -1) matchedEvents[eventIndex] = event;
        }
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
          batchRules.push(this.stateRules[r]!);
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
    return this.buildAlert(compiled, groupKey, parts, createdAt);
  }

  /**
   * Records a source's watermark mark (a `watermark` job; `id`: its job id, so a retry yields the
   * same alerts); marks apply in seq order only. Rules that decide on watermarks (absence) then
   * raise what the new watermark allows.
   */
  async advance(source: string, mark: SourceMark, id?: string): Promise<{ progress: SourceProgress; alerts: Alert[] }> {
    const deciding = this.rules.filter((r) => r.kind.decides);
    const rules = this.rules.flatMap((r, i) => (r.kind.decides ? [this.stateRules[i]!] : []));
    // A call takes a bounded number of due decisions; the rest come in the next calls (each its
    // own result key, so a retried watermark job gets the same alerts back).
    const fired: FiredState[] = [];
    let result = await this.store.advance(source, mark, { ...(id === undefined ? {} : { id }), rules });
    fired.push(...result.fired);
    for (let call = 1; result.more; call++) {
      result = await this.store.advance(source, mark, { ...(id === undefined ? {} : { id: `${id}:${call}` }), rules });
      fired.push(...result.fired);
    }
    const createdAt = (this.options.now?.() ?? new Date()).toISOString();
    const alerts = fired.map((fired) => {
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
    const deciding = this.rules.flatMap((r, i) => (r.kind.decides ? [{ r, sources: this.ruleSources[i] }] : []));
    if (deciding.length === 0) return [];
    const alerts: Alert[] = [];
    const known = new Map((await this.store.sources()).map((status) => [status.source, status]));
    // A configured source never heard of counts from when this engine started waiting for it.
    const names = this.options.sources?.map((source) => source.name) ?? [...known.keys()];
    for (const name of names) {
      const status = known.get(name) ?? { source: name, advancedAt: this.startedAtMs };
      if (nowMs - status.advancedAt < afterMs) continue;
      const blocked = deciding
        .filter(({ r, sources }) => {
          if (sources) return sources.includes(status.source);
          const listed = (r.plan.params.sources as readonly string[] | undefined) ?? [];
          return listed.length === 0 || listed.includes(status.source);
        })
        .map(({ r }) => r.rule.id);
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
    { rule, kindName, kind }: CompiledRule,
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
      kind: kindName,
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
      provider: parts.trigger.provider,
      notify: rule.notify,
      createdAt,
    };
    if (parts.evidence) {
      const evidence = (kind.evidence?.parse(parts.evidence) ?? parts.evidence) as Record<string, unknown>;
      alert.evidence = { kind: kindName, ...evidence };
    }
    if (rule.runbook) alert.runbook = rule.runbook;
    return alert;
  }
}

/**
 * Whether a rule (or a part of one) can read an event's `geo`: a travel rule, anything that names
 * `geo` (a condition, an exception, a kind's fields, the title), or a `var` whose path is computed
 * or empty (the whole event). Over-approximated on purpose: enriching more is only slower.
 */
function readsGeo(part: unknown): boolean {
  if (part !== null && typeof part === "object" && "travel" in part) return true;
  const text = JSON.stringify(part) ?? "";
  return text.includes("geo") || /"var":(?!"[^"]|\["[^"])/.test(text);
}
