import { z } from "zod";

/** The documented `action` values (row-level verbs of Logfire's own database, plus sessions). */
export const LOGFIRE_ACTIONS = ["LOGIN", "LOGOUT", "INSERT", "UPDATE", "DELETE"] as const;

const InstantSchema = z.iso.datetime({ offset: true });

/**
 * A Logfire audit log as `GET /v1/audit-logs/` lists it. `id`, `created_at`, `action` and
 * `user_name` are what every entry must have; the rest is documented as nullable and read
 * leniently. The detail endpoint's `downgrade_patches` and `metadata` are kept when present.
 */
export const LogfireAuditLogSchema = z.object({
  id: z.string().min(1),
  /** When the action happened (UTC, microseconds). */
  created_at: InstantSchema,
  organization_name: z.string().nullish(),
  project_name: z.string().nullish(),
  user_name: z.string(),
  /** Verbatim: unknown values are kept and mapped to category `other`. */
  action: z.string().min(1),
  resource_type: z.string().nullish(),
  record_id: z.string().nullish(),
  ip_address: z.string().nullish(),
  downgrade_patches: z.array(z.unknown()).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type LogfireAuditLog = z.infer<typeof LogfireAuditLogSchema>;

/** The list endpoint answers one bare JSON array: the whole window, newest first, no pagination. */
export const LogfireAuditLogListSchema = z.array(z.unknown());

/** A record as received (for `raw`) with its validated view. */
export interface LogfireRecord {
  raw: Record<string, unknown>;
  log: LogfireAuditLog;
}
