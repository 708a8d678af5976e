import { z } from "zod";

const InstantSchema = z.iso.datetime({ offset: true });

/** Who acted (`User`, `ApiUser`, `Automation`, `Support`, `Candidate`, `System`, ...; new types appear without notice). */
const AshbyActorSchema = z.object({
  type: z.string().min(1),
  id: z.string().nullish(),
  name: z.string().nullish(),
  email: z.string().nullish(),
});

const AshbyTargetSchema = z.object({
  type: z.string().min(1),
  id: z.string().nullish(),
  name: z.string().nullish(),
});

/**
 * An `auditLog.list` entry (PROVIDERS.md 3.2). Documented: `actor.{type,id,name}`,
 * `target.type`, `category`; the entry id, `createdAt` and `target.{id,name}` are UNCONFIRMED
 * names (the simulator's). Fields beyond these are kept under `attributes`.
 */
export const AshbyAuditLogEntrySchema = z.object({
  id: z.string().min(1),
  /** When the change happened; what `startDate`/`endDate` filter on. */
  createdAt: InstantSchema,
  /** The activity, e.g. `JobStatusChanged`: the event's action. */
  category: z.string().min(1),
  actor: AshbyActorSchema,
  target: AshbyTargetSchema,
});
export type AshbyAuditLogEntry = z.infer<typeof AshbyAuditLogEntrySchema>;

/**
 * Ashby answers most failures with HTTP 200 and `success: false`: the classic `errors: [code]`,
 * the newer `errorInfo`, or both.
 */
export const AshbyListResponseSchema = z.discriminatedUnion("success", [
  z.object({
    success: z.literal(true),
    results: z.array(z.unknown()),
    moreDataAvailable: z.boolean(),
    nextCursor: z.string().nullish(),
  }),
  z.object({
    success: z.literal(false),
    errors: z.array(z.string()).optional(),
    errorInfo: z
      .object({ code: z.string(), message: z.string().optional(), requestId: z.string().optional() })
      .optional(),
  }),
]);

/** A record as received (for `raw`) with its validated view. */
export interface AshbyRecord {
  raw: Record<string, unknown>;
  entry: AshbyAuditLogEntry;
}
