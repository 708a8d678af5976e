import { z } from "zod";

export const EVENT_CATEGORIES = ["authentication", "create", "read", "update", "delete", "permission", "export", "other"] as const;
export const EVENT_OUTCOMES = ["success", "failure", "unknown"] as const;

export const EventCategorySchema = z.enum(EVENT_CATEGORIES);
export const EventOutcomeSchema = z.enum(EVENT_OUTCOMES);

export const ActorSchema = z.strictObject({
  id: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  type: z.string().optional(),
});

export const TargetSchema = z.strictObject({
  id: z.string().optional(),
  type: z.string().optional(),
  name: z.string().optional(),
});

/**
 * A JSON object whose contents are the provider's (kept as received). Checked for shape only:
 * walking every key of every raw record would cost more than the rest of the event's checks.
 */
const OpaqueObjectSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  { message: "expected an object" },
);

const InstantSchema = z.iso.datetime({ offset: true }).describe("ISO-8601 instant, e.g. 2026-01-31T12:00:00Z");

/** The normalized audit event every connector produces (DESIGN.md, "The normalized event"). */
export const AuditEventSchema = z.strictObject({
  id: z.string().min(1),
  source: z.string().min(1),
  provider: z.string().min(1),
  nativeId: z.string().min(1),
  time: InstantSchema,
  action: z.string(),
  category: EventCategorySchema,
  outcome: EventOutcomeSchema,
  actor: ActorSchema,
  target: TargetSchema,
  ip: z.string().optional(),
  attributes: OpaqueObjectSchema,
  raw: OpaqueObjectSchema,
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type EventCategory = z.infer<typeof EventCategorySchema>;
export type EventOutcome = z.infer<typeof EventOutcomeSchema>;

/**
 * An event as written by hand (rule tests, replay files): only `id` and `time` are required,
 * every other field takes a neutral default.
 */
export const PartialAuditEventSchema = z
  .strictObject({
    id: z.string().min(1),
    time: InstantSchema,
    source: z.string().min(1).default("replay"),
    provider: z.string().min(1).default("replay"),
    nativeId: z.string().min(1).optional(),
    action: z.string().default(""),
    category: EventCategorySchema.default("other"),
    outcome: EventOutcomeSchema.default("unknown"),
    actor: ActorSchema.default({}),
    target: TargetSchema.default({}),
    ip: z.string().optional(),
    attributes: OpaqueObjectSchema.default({}),
    raw: OpaqueObjectSchema.default({}),
  })
  .transform((e): AuditEvent => ({ ...e, nativeId: e.nativeId ?? e.id }));
export type PartialAuditEvent = z.input<typeof PartialAuditEventSchema>;

/** Milliseconds since the epoch of an event's `time`. */
export function eventTimeMs(event: Pick<AuditEvent, "time">): number {
  return Date.parse(event.time);
}
