import { z } from "zod";
import { SeveritySchema } from "./rule.js";

/** What an alert shows of one of its events. */
export const AlertEventSummarySchema = z.object({
  id: z.string(),
  time: z.string(),
  action: z.string(),
  actor: z.string().optional(),
  target: z.string().optional(),
  ip: z.string().optional(),
  /** The provider's own page for the record, when its connector knows one (`attributes.link`). */
  link: z.string().optional(),
});

/** A kind's evidence: its kind's name and whatever fields that kind defines. */
export const AlertEvidenceSchema = z.looseObject({ kind: z.string() });
export type AlertEvidence = z.infer<typeof AlertEvidenceSchema>;

export const AlertSchema = z.object({
  /** Deterministic from rule, group and window: a redelivered batch never makes a second alert. */
  id: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  /** The rule's kind (match, threshold, sequence, newValue, absence, …); absent on Vigil's own alerts. */
  kind: z.string().optional(),
  /** The rule's runbook URL, if it has one. */
  runbook: z.string().optional(),
  severity: SeveritySchema,
  title: z.string(),
  description: z.string().optional(),
  /** Each groupBy path mapped to its value (empty for match rules). */
  groupKey: z.record(z.string(), z.unknown()),
  count: z.number().int(),
  windowStart: z.string(),
  windowEnd: z.string(),
  /** Ids of the events in the window, capped at MAX_ALERT_EVENT_IDS. */
  eventIds: z.array(z.string()),
  /** A short summary of the first events, for humans. */
  events: z.array(AlertEventSummarySchema).default([]),
  /**
   * What the rule's kind found beyond the window and events, e.g. `{ kind: "sequence", chain: [...] }`,
   * `{ kind: "newValue", value, lastSeen }`, `{ kind: "travel", from, to, speedKmh, ... }`. Each kind
   * owns its shape (the engine's kind folders); channels render it generically.
   */
  evidence: AlertEvidenceSchema.optional(),
  tags: z.array(z.string()),
  /** The provider of the event that raised the alert (routes, silences and inhibition match on it). */
  provider: z.string().optional(),
  /** The rule's own channel list, if it has one. */
  notify: z.array(z.string()).optional(),
  createdAt: z.string(),
});
export type Alert = z.infer<typeof AlertSchema>;
export type AlertEventSummary = z.infer<typeof AlertEventSummarySchema>;

export const MAX_ALERT_EVENT_IDS = 50;
