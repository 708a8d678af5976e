import { z } from "zod";

const InstantSchema = z.iso.datetime({ offset: true });

/**
 * Pylon's `AuditLog` (OpenAPI `GetAuditLogsResponseBody.data[]`, PROVIDERS.md 1.2). The schema
 * marks no field required; these five are what every entry has and what the connector needs
 * (identity, action, both times, the object it is about). The rest is read leniently.
 */
export const PylonAuditLogSchema = z.object({
  id: z.string().min(1),
  action: z.string().min(1),
  /** When the action happened: the event time. */
  action_happened_at: InstantSchema,
  /** When Pylon wrote the entry (0–2 s later, sometimes more); the feed is in this order. */
  created_at: InstantSchema,
  actor_user_id: z.string().nullish(),
  actor_contact_id: z.string().nullish(),
  object_type: z.string(),
  object_id: z.string().nullish(),
  source: z.string().nullish(),
  link: z.string().nullish(),
  attributes: z.record(z.string(), z.unknown()).nullish(),
  /** Shape depends on the action; `ip_address` where a client was involved. */
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type PylonAuditLog = z.infer<typeof PylonAuditLogSchema>;

/** One page of `GET /audit-logs`; records are validated one by one (`splitRecords`) to keep each as received. */
export const PylonAuditLogPageSchema = z.object({
  data: z.array(z.unknown()),
  /** Both required by the OpenAPI schema; the cursor is opaque. */
  pagination: z.object({ cursor: z.string(), has_next_page: z.boolean() }),
  request_id: z.string().optional(),
});

/** A record as received (for `raw`) with its validated view. */
export interface PylonRecord {
  raw: Record<string, unknown>;
  log: PylonAuditLog;
}
