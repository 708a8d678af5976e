import { z } from "zod";
import { DurationSchema } from "./duration.js";
import { PartialAuditEventSchema } from "./event.js";

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

const FieldPathSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/, "a dotted field path such as actor.id")
  .describe("Dotted path into the AuditEvent, e.g. actor.id or attributes.ip");

export const ThresholdSchema = z.strictObject({
  count: z.number().int().min(1).describe("Alert when at least this many matching events (or distinct values) fall in one window"),
  within: DurationSchema.describe("Window length in event time, e.g. 5m"),
  groupBy: z
    .union([FieldPathSchema, z.array(FieldPathSchema).min(1)])
    .transform((v) => (typeof v === "string" ? [v] : v))
    .describe("Field path(s) to count per, e.g. [actor.id]"),
  distinct: FieldPathSchema.optional().describe("Count distinct values of this field instead of events"),
});

export const RuleTestSchema = z.strictObject({
  name: z.string().min(1),
  events: z.array(PartialAuditEventSchema),
  expect: z.strictObject({
    alerts: z.number().int().min(0).describe("How many alerts this rule raises over the events"),
    titles: z.array(z.string()).optional().describe("The alert titles, in order"),
  }),
});

export const RuleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only")
      .describe("Unique, stable rule id, e.g. zendesk.mass-user-deletion"),
    name: z.string().min(1),
    severity: SeveritySchema,
    description: z.string().optional(),
    tags: z.array(z.string()).default([]),
    enabled: z.boolean().default(true),
    when: z
      .union([z.record(z.string(), z.unknown()), z.boolean()])
      .describe("JsonLogic condition over the AuditEvent, e.g. {\"==\": [{\"var\": \"action\"}, \"destroy\"]}"),
    threshold: ThresholdSchema.optional(),
    suppress: DurationSchema.optional().describe("At most one alert per rule and group per span of this length (default: within)"),
    lateness: DurationSchema.optional().describe("How late (in event time) an event may arrive and still count (default 1h)"),
    title: z.string().optional().describe("Mustache template of the alert title, e.g. \"{{actor.email}} deleted {{count}} users\""),
    notify: z.array(z.string()).optional().describe("Channel names; without it, routes decide"),
    tests: z.array(RuleTestSchema).optional(),
  })
  .superRefine(
    (rule, ctx) => {
      // Runs even when other fields are invalid, so every problem is reported at once.
      if (typeof rule !== "object" || rule === null || rule.threshold) return;
      for (const key of ["suppress", "lateness"] as const) {
        if (rule[key] !== undefined) {
          ctx.addIssue({ code: "custom", path: [key], message: `${key} applies only to rules with a threshold` });
        }
      }
    },
    { when: () => true },
  );
export type Rule = z.infer<typeof RuleSchema>;
export type RuleInput = z.input<typeof RuleSchema>;
export type Threshold = z.infer<typeof ThresholdSchema>;
export type RuleTest = z.infer<typeof RuleTestSchema>;

export const DEFAULT_LATENESS_MS = 3_600_000;
