import { z } from "zod";
import {
  ConditionSchema,
  DEFAULT_LATENESS_MS,
  DurationSchema,
  FieldPathSchema,
  formatDuration,
  RuleTestSchema,
  SeveritySchema,
} from "@vigil/core";
import { RULE_KINDS, STATEFUL_KIND_NAMES, type StatefulKindName } from "./kinds/registry.js";
import { fieldPathJsonSchema } from "./rule-fields.js";
import { ExceptionSchema } from "./rule-tuning.js";

/** Each stateful kind's own field, from the registry; a rule has at most one of them (none: a match rule). */
const kindFields = Object.fromEntries(
  STATEFUL_KIND_NAMES.map((name) => [name, (RULE_KINDS[name].schema as z.ZodType).optional()]),
) as { [K in StatefulKindName]: z.ZodOptional<(typeof RULE_KINDS)[K]["schema"]> };
const STATEFUL_KINDS = STATEFUL_KIND_NAMES;

export const RuleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only")
      .describe("Unique, stable rule id, e.g. zendesk.mass-user-deletion"),
    name: z.string().min(1),
    severity: SeveritySchema,
    description: z.string().optional(),
    falsePositives: z
      .array(z.string().min(1))
      .optional()
      .describe("Known benign causes of this rule's alerts, for responders and for tuning"),
    runbook: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("URL of what to do when it fires; every notification links it"),
    tags: z.array(z.string()).default([]),
    enabled: z.boolean().default(true),
    when: ConditionSchema,
    ...kindFields,
    suppress: DurationSchema.optional().describe(
      "At most one alert per rule and group per span of this length (default: the kind's)",
    ),
    lateness: DurationSchema.optional().describe(
      "How late (in event time) an event may arrive and still count (default 1h)",
    ),
    title: z
      .string()
      .optional()
      .describe('Mustache template of the alert title, e.g. "{{actor.email}} deleted {{count}} users"'),
    notify: z.array(z.string()).optional().describe("Channel names; without it, routes decide"),
    exceptions: z
      .array(ExceptionSchema)
      .optional()
      .describe("Events to keep out of this rule, each a condition with a reason (and optional expiry)"),
    tests: z.array(RuleTestSchema).optional(),
  })
  .superRefine(
    (rule, ctx) => {
      // Runs even when other fields are invalid, so every problem is reported at once.
      if (typeof rule !== "object" || rule === null) return;
      const kinds = STATEFUL_KINDS.filter((name) => (rule as Record<string, unknown>)[name] !== undefined);
      if (kinds.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: [kinds[1]!],
          message: `a rule has one kind; found ${kinds.join(" and ")}`,
        });
      }
      const newValue = (rule as { newValue?: { learning?: unknown; forgetAfter?: unknown } }).newValue;
      if (newValue && typeof newValue === "object") {
        const lateness = typeof rule.lateness === "number" ? rule.lateness : DEFAULT_LATENESS_MS;
        const { learning, forgetAfter } = newValue;
        if (typeof learning === "number" && learning !== 0 && learning <= lateness) {
          ctx.addIssue({
            code: "custom",
            path: ["newValue", "learning"],
            message: `learning must be 0 or longer than lateness (${formatDuration(lateness)}), so that no later event can change a verdict`,
          });
        }
        if (typeof forgetAfter === "number" && forgetAfter <= lateness) {
          ctx.addIssue({
            code: "custom",
            path: ["newValue", "forgetAfter"],
            message: `forgetAfter must be longer than lateness (${formatDuration(lateness)})`,
          });
        }
      }
      if (kinds.length === 0) {
        for (const key of ["suppress", "lateness"] as const) {
          if (rule[key] !== undefined) {
            ctx.addIssue({
              code: "custom",
              path: [key],
              message: `${key} applies only to stateful rules (${STATEFUL_KINDS.join(", ")})`,
            });
          }
        }
      }
    },
    { when: () => true },
  );
export type Rule = z.infer<typeof RuleSchema>;
export type RuleInput = z.input<typeof RuleSchema>;

/** The JSON Schema of one rule document, generated from the zod schema. */
export function ruleJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RuleSchema, {
      target: "draft-7",
      io: "input",
      unrepresentable: "any",
      // Field paths: the event model's fields for editors to offer, or any path under a free-form object.
      override: (ctx) => {
        if (ctx.zodSchema !== FieldPathSchema) return;
        const json = ctx.jsonSchema as Record<string, unknown>;
        for (const key of Object.keys(json)) delete json[key];
        Object.assign(json, fieldPathJsonSchema(FieldPathSchema.description));
      },
    }),
    title: "Vigil detection rule",
    $id: "https://vigil.dev/schema/rule.schema.json",
  };
}
