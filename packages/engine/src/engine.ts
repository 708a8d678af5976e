import { createHash } from "node:crypto";
import Mustache from "mustache";
import {
  DEFAULT_LATENESS_MS,
  MAX_ALERT_EVENT_IDS,
  eventTimeMs,
  silentLogger,
  type Alert,
  type AlertEventSummary,
  type AuditEvent,
  type Logger,
  type Metrics,
  type Rule,
} from "@vigil/core";
import { pathReader } from "./field-path.js";
import { RuleIndex } from "./rule-index.js";
import type { LoadedRule } from "./rule-loader.js";
import type { WindowBatch, WindowRuleParams, WindowStore } from "./window-store.js";

const MAX_ALERT_EVENT_SUMMARIES = 10;

interface ThresholdPlan {
  window: WindowRuleParams;
  groupPaths: string[];
  readGroup: ((event: unknown) => unknown)[];
  readDistinct?: (event: unknown) => unknown;
}

interface RuntimeRule {
  rule: Rule;
  test(event: unknown): boolean;
  threshold?: ThresholdPlan;
  /** Index among threshold rules (their window parameters), or -1. */
  windowIndex: number;
}

/** What the rules make of a batch before Redis is involved. */
export interface Evaluation {
  batch: Omit<WindowBatch, "batchId">;
  /** The batch's events that matched at least one rule, aligned with batch.eventIds. */
  events: AuditEvent[];
  /** Per group: its rule and its groupBy values. */
  groupValues: { rule: number; values: unknown[] }[];
}

export interface BatchOutcome {
  alerts: Alert[];
  /** Events that matched no rule. */
  unmatched: number;
  duplicates: number;
  late: { eventId: string; ruleId: string }[];
}

function hashKey(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/** Group keys recur batch after batch; hashing each once saves work on the hot path. */
const groupHashes = new Map<string, string>();
function groupHash(groupKey: string): string {
  let hash = groupHashes.get(groupKey);
  if (hash === undefined) {
    if (groupHashes.size >= 100_000) groupHashes.clear();
    hash = hashKey(groupKey);
    groupHashes.set(groupKey, hash);
  }
  return hash;
}

/** Deterministic alert id for a threshold rule's group and suppress bucket. */
export function windowAlertId(ruleId: string, groupValues: unknown[], bucketStartMs: number): string {
  return hashKey("window", ruleId, JSON.stringify(groupValues), String(bucketStartMs));
}

/** Deterministic alert id for a match rule and one event. */
export function matchAlertId(ruleId: string, eventId: string): string {
  return hashKey("match", ruleId, eventId);
}

function summarize(event: AuditEvent): AlertEventSummary {
  return {
    id: event.id,
    time: event.time,
    action: event.action,
    actor: event.actor.email ?? event.actor.name ?? event.actor.id,
    target: event.target.name ?? event.target.id,
    ip: event.ip,
  };
}

const renderPlain = (template: string, view: unknown): string =>
  Mustache.render(template, view, {}, { escape: (value: unknown) => String(value) });

/**
 * Evaluates rules over batches of events: JsonLogic in process, windows in a WindowStore.
 * Stateless apart from the store, so any number of engine workers can share one Redis.
 */
export class Engine {
  private readonly rules: RuntimeRule[];
  private readonly windowRules: RuntimeRule[];
  private readonly logger: Logger;
  /** Which rules an event can possibly match (rule-index.ts); every rule when the index is off. */
  private readonly candidates: (event: AuditEvent) => readonly number[];

  constructor(
    loaded: readonly LoadedRule[],
    private readonly store: WindowStore,
    private readonly options: {
      logger?: Logger;
      metrics?: Metrics;
      now?: () => Date;
      /** Test only the rules an event can match (default true); off, every rule sees every event. */
      ruleIndex?: boolean;
    } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.rules = [];
    this.windowRules = [];
    for (const { rule, condition } of loaded) {
      if (!rule.enabled) continue;
      const runtime: RuntimeRule = { rule, test: condition.test, windowIndex: -1 };
      if (rule.threshold) {
        const { count, within, groupBy, distinct } = rule.threshold;
        const suppress = rule.suppress ?? within;
        const lateness = rule.lateness ?? DEFAULT_LATENESS_MS;
        runtime.threshold = {
          window: { count, within, suppress, lateness, distinct: distinct !== undefined, ttl: 2 * (within + lateness + suppress) + 3_600_000 },
          groupPaths: groupBy,
          readGroup: groupBy.map(pathReader),
          readDistinct: distinct ? pathReader(distinct) : undefined,
        };
        runtime.windowIndex = this.windowRules.length;
        this.windowRules.push(runtime);
      }
      this.rules.push(runtime);
    }
    if (options.ruleIndex === false) {
      const all = this.rules.map((_, i) => i);
      this.candidates = () => all;
    } else {
      const index = new RuleIndex(this.rules.map((r) => ({ when: r.rule.when })));
      this.candidates = (event) => index.candidates(event);
    }
  }

  /** Ids of the rules this engine evaluates. */
  get ruleIds(): string[] {
    return this.rules.map((r) => r.rule.id);
  }

  /** Runs every rule over the events: pure CPU, no Redis. */
  evaluate(events: readonly AuditEvent[]): Evaluation {
    const eventIds: string[] = [];
    const matchedEvents: AuditEvent[] = [];
    const updates: WindowBatch["updates"] = [];
    const matches: WindowBatch["matches"] = [];
    const seenEvents: number[] = [];
    const groups: WindowBatch["groups"] = [];
    const groupValues: Evaluation["groupValues"] = [];
    const groupIndex = new Map<string, number>();
    const rules = this.rules;
    for (const event of events) {
      let eventIndex = -1;
      let timeMs = Number.NaN;
      const candidates = this.candidates(event);
      for (let c = 0; c < candidates.length; c++) {
        const r = candidates[c]!;
        const runtime = rules[r]!;
        if (!runtime.test(event)) continue;
        const plan = runtime.threshold;
        let distinctValue = "";
        if (plan?.readDistinct) {
          const value = plan.readDistinct(event);
          if (value === undefined || value === null) continue; // nothing to count distinctly
          distinctValue = typeof value === "string" ? value : JSON.stringify(value);
        }
        if (eventIndex === -1) {
          eventIndex = eventIds.length;
          eventIds.push(event.id);
          matchedEvents.push(event);
        }
        if (!plan) {
          if (matches.length === 0 || matches[matches.length - 1]![0] !== eventIndex) seenEvents.push(eventIndex);
          matches.push([eventIndex, r]);
          continue;
        }
        const values = plan.readGroup.map((read) => read(event) ?? null);
        const groupKey = `${runtime.rule.id}\u0000${JSON.stringify(values)}`;
        let group = groupIndex.get(groupKey);
        if (group === undefined) {
          group = groups.length;
          groupIndex.set(groupKey, group);
          groups.push({ rule: runtime.windowIndex, key: groupHash(groupKey) });
          groupValues.push({ rule: r, values });
        }
        if (Number.isNaN(timeMs)) timeMs = eventTimeMs(event);
        updates.push([eventIndex, group, timeMs, distinctValue]);
      }
    }
    return {
      batch: { eventIds, rules: this.windowRules.map((w) => w.threshold!.window), groups, updates, matches, seenEvents },
      events: matchedEvents,
      groupValues,
    };
  }

  /** Evaluates a batch and returns its alerts; the same batchId always yields the same alert ids. */
  async processBatch(events: readonly AuditEvent[], batchId: string): Promise<BatchOutcome> {
    const evaluation = this.evaluate(events);
    const result = await this.store.apply({ batchId, ...evaluation.batch });
    const createdAt = (this.options.now?.() ?? new Date()).toISOString();
    const alerts: Alert[] = [];

    for (const { event, rule } of result.matches) {
      const runtime = this.rules[rule]!;
      const source = evaluation.events[event]!;
      alerts.push(this.buildAlert(runtime, {
        id: matchAlertId(runtime.rule.id, source.id),
        trigger: source,
        groupKey: {},
        count: 1,
        windowStart: source.time,
        windowEnd: source.time,
        eventIds: [source.id],
        summaries: [summarize(source)],
        createdAt,
      }));
    }

    for (const fired of result.fired) {
      const { rule, values } = evaluation.groupValues[fired.group]!;
      const runtime = this.rules[rule]!;
      const plan = runtime.threshold!;
      const trigger = evaluation.events[fired.event]!;
      const groupKey = Object.fromEntries(plan.groupPaths.map((path, i) => [path, values[i]]));
      const inWindow = new Set(fired.eventIds);
      const summaries = evaluation.events.filter((e) => inWindow.has(e.id)).slice(0, MAX_ALERT_EVENT_SUMMARIES).map(summarize);
      alerts.push(this.buildAlert(runtime, {
        id: windowAlertId(runtime.rule.id, values, fired.bucket * plan.window.suppress),
        trigger,
        groupKey,
        count: fired.count,
        windowStart: new Date(fired.windowStart).toISOString(),
        windowEnd: new Date(fired.windowEnd).toISOString(),
        eventIds: fired.eventIds.slice(0, MAX_ALERT_EVENT_IDS),
        summaries: summaries.length ? summaries : [summarize(trigger)],
        createdAt,
      }));
    }

    const late = result.late.map(({ event, group }) => {
      const ruleId = this.rules[evaluation.groupValues[group]!.rule]!.rule.id;
      return { eventId: evaluation.events[event]!.id, ruleId };
    });
    for (const item of late) {
      this.options.metrics?.eventsLate.inc({ rule: item.ruleId });
      this.logger.warn({ ruleId: item.ruleId, eventId: item.eventId }, "event arrived later than the rule's lateness; not counted");
    }
    for (const alert of alerts) this.options.metrics?.alertsRaised.inc({ rule: alert.ruleId, severity: alert.severity });
    return {
      alerts,
      unmatched: events.length - evaluation.events.length,
      duplicates: result.duplicates,
      late,
    };
  }

  private buildAlert(
    runtime: RuntimeRule,
    parts: {
      id: string;
      trigger: AuditEvent;
      groupKey: Record<string, unknown>;
      count: number;
      windowStart: string;
      windowEnd: string;
      eventIds: string[];
      summaries: AlertEventSummary[];
      createdAt: string;
    },
  ): Alert {
    const { rule } = runtime;
    const view = {
      ...parts.trigger,
      event: parts.trigger,
      count: parts.count,
      group: parts.groupKey,
      windowStart: parts.windowStart,
      windowEnd: parts.windowEnd,
      rule: { id: rule.id, name: rule.name, severity: rule.severity },
    };
    return {
      id: parts.id,
      ruleId: rule.id,
      ruleName: rule.name,
      severity: rule.severity,
      title: rule.title ? renderPlain(rule.title, view) : rule.name,
      description: rule.description,
      groupKey: parts.groupKey,
      count: parts.count,
      windowStart: parts.windowStart,
      windowEnd: parts.windowEnd,
      eventIds: parts.eventIds,
      events: parts.summaries,
      tags: rule.tags,
      notify: rule.notify,
      createdAt: parts.createdAt,
    };
  }
}
