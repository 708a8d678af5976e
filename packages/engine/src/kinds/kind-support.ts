import { createHash } from "node:crypto";
import type { AlertEventSummary, AuditEvent } from "@vigil/core";
import type { RuleStateRule } from "../rule-state/rule-state.store.js";
import type { ReferenceContext } from "./rule-kind.js";

export function hashKey(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/** JSON with object keys sorted at every level: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** Deterministic alert id for a stateful rule's group and epoch-aligned suppress span. */
export function windowAlertId(ruleId: string, groupValues: unknown[], spanStartMs: number): string {
  return hashKey("window", ruleId, JSON.stringify(groupValues), String(spanStartMs));
}

/** Deterministic alert id for a match rule and one event. */
export function matchAlertId(ruleId: string, eventId: string): string {
  return hashKey("match", ruleId, eventId);
}

const MAX_ALERT_EVENT_SUMMARIES = 10;

export function summarize(event: AuditEvent): AlertEventSummary {
  return {
    id: event.id,
    time: event.time,
    action: event.action,
    actor: event.actor.email ?? event.actor.name ?? event.actor.id,
    target: event.target.name ?? event.target.id,
    ip: event.ip,
    link: providerLink(event),
  };
}

/** The provider's page for the record, which connectors put in `attributes.link` (http(s) only). */
function providerLink(event: AuditEvent): string | undefined {
  const link = event.attributes.link;
  return typeof link === "string" && /^https?:\/\//.test(link) ? link : undefined;
}

/** Summaries of the batch's events among `ids` (in batch order), else of the trigger alone. */
export function summariesOf(
  ids: readonly string[],
  batchEvents: readonly AuditEvent[],
  trigger: AuditEvent,
): AlertEventSummary[] {
  const wanted = new Set(ids);
  const summaries: AlertEventSummary[] = [];
  for (const event of batchEvents) {
    if (!wanted.delete(event.id)) continue;
    summaries.push(summarize(event));
    if (summaries.length >= MAX_ALERT_EVENT_SUMMARIES) break;
  }
  return summaries.length ? summaries : [summarize(trigger)];
}

/** The field paths of a spec's `groupBy` (one path or a list), for RuleKind.fieldPaths. */
export function groupByPaths(spec: unknown): { path: (string | number)[]; name: string }[] {
  return namedPaths(spec, "groupBy");
}

/** The field paths of `spec[key]`, one string or a list of them (anything else is the schema's to refuse). */
export function namedPaths(spec: unknown, key: string): { path: (string | number)[]; name: string }[] {
  const value = spec && typeof spec === "object" ? (spec as Record<string, unknown>)[key] : undefined;
  if (typeof value === "string") return [{ path: [key], name: value }];
  if (!Array.isArray(value)) return [];
  return value.flatMap((name, i) => (typeof name === "string" ? [{ path: [key, i], name }] : []));
}

/** Milliseconds to ISO-8601. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** The name of a part of a group's state that expires on its own (a Redis key of its own). */
export const statePart = (group: string, part: string): string => `${group}\u0000${part}`;

/** The suppress spans a group already alerted in (the handlers' `base:f`), for the in-memory definitions. */
export const firedSpans = (ctx: ReferenceContext, rule: RuleStateRule, group: string): Set<number> =>
  ctx.state(rule, statePart(group, "f"), () => new Set<number>());

/** Records a span as fired; the spans expire the rule's `ttl` after the last one fired (rule-state.lua recordFired). */
export function recordFired(ctx: ReferenceContext, rule: RuleStateRule, group: string, span: number): void {
  firedSpans(ctx, rule, group).add(span);
  ctx.expire(rule, statePart(group, "f"), Number(rule.params.ttl));
}
