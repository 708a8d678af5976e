import { z } from "zod";
import { PartialAuditEventSchema } from "./event.js";

// The parts of a rule every kind shares. Each rule kind's own schema (threshold, sequence, …)
// lives with the kind in @vigil/engine, which composes the whole rule schema from them.

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

export const FieldPathSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/, "a dotted field path such as actor.id")
  .describe("Dotted path into the AuditEvent, e.g. actor.id or attributes.ip");

/** One field path or several; always an array once parsed. */
export const GroupBySchema = z
  .union([FieldPathSchema, z.array(FieldPathSchema).min(1)])
  .transform((v) => (typeof v === "string" ? [v] : v))
  .describe("Field path(s) to keep state per, e.g. [actor.id]");

/** The sources a rule deciding on watermarks (absence, newValue) waits for, when it lists them. */
export const WatermarkSourcesSchema = z
  .array(z.string().min(1))
  .min(1)
  .optional()
  .describe(
    "Sources whose watermark decides (default: the configured sources whose provider and name the rule's `when` allows)",
  );

/** A JsonLogic condition over the AuditEvent (checked operator by operator when a rule loads). */
export const ConditionSchema = z
  .union([z.record(z.string(), z.unknown()), z.boolean()])
  .describe('JsonLogic condition over the AuditEvent, e.g. {"==": [{"var": "action"}, "destroy"]}');

/** What a rule test expects of the alerts of one group. */
export const RuleTestGroupExpectSchema = z.strictObject({
  group: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
    .describe("The group's groupBy values, e.g. { actor.email: eve@example.com }"),
  alerts: z.number().int().min(0).describe("How many alerts this group raises"),
  titles: z.array(z.string()).optional().describe("Their titles, in order"),
});

/** A watermark among a rule test's events (or a replayed file's lines): `source` (else every source seen) delivers nothing older any more. */
export const WatermarkEntrySchema = z.strictObject({
  watermark: z.iso.datetime({ offset: true }).describe("An event time, ISO-8601"),
  source: z.string().min(1).optional(),
});
export type WatermarkEntry = z.infer<typeof WatermarkEntrySchema>;

export const RuleTestSchema = z.strictObject({
  name: z.string().min(1),
  events: z
    .array(z.union([WatermarkEntrySchema, PartialAuditEventSchema]))
    .describe("Events in delivery order, and watermark entries ({ watermark: <ISO>, source? }) among them"),
  expect: z.strictObject({
    alerts: z.number().int().min(0).describe("How many alerts this rule raises over the events"),
    titles: z.array(z.string()).optional().describe("The alert titles, in order"),
    groups: z
      .array(RuleTestGroupExpectSchema)
      .optional()
      .describe("Alerts expected per group (groups not listed must raise none)"),
  }),
});
export type RuleTest = z.infer<typeof RuleTestSchema>;

export const DEFAULT_LATENESS_MS = 3_600_000;
