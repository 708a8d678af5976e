import { z } from "zod";

/**
 * A BloodHound audit log row (`model.AuditLog`). What every row has is required; the actor is
 * empty (or absent) when the request was not authenticated. Older builds named the address
 * column `source`.
 */
export const BloodHoundAuditLogSchema = z.object({
  /** Database serial: unique, and increasing with time. */
  id: z.number().int(),
  /** When the action happened (microseconds). */
  created_at: z.iso.datetime({ offset: true }),
  actor_id: z.string().nullish(),
  actor_name: z.string().nullish(),
  actor_email: z.string().nullish(),
  action: z.string().min(1),
  /** The audited model's data, plus `error` on failures. */
  fields: z.record(z.string(), z.unknown()).nullish(),
  request_id: z.string().nullish(),
  source_ip_address: z.string().nullish(),
  source: z.string().nullish(),
  /**
   * Every audited change writes an `intent` row, then a `success` or `failure` row with the same
   * `commit_id`. Verbatim: any other value maps to outcome `unknown`.
   */
  status: z.string().min(1),
  commit_id: z.string().min(1),
});
export type BloodHoundAuditLog = z.infer<typeof BloodHoundAuditLogSchema>;

/**
 * `GET /api/v2/audit`'s `ResponseWrapper`. Only `data.logs` is documented; real servers also echo
 * `limit` and `skip`, and send `count`, which ignores the time window (so it is not used).
 */
export const BloodHoundAuditPageSchema = z.object({
  count: z.number().int().optional(),
  limit: z.number().int().optional(),
  skip: z.number().int().optional(),
  data: z.object({ logs: z.array(z.unknown()) }),
});

/** A row as received (for `raw`) with its validated view. */
export interface BloodHoundRecord {
  raw: Record<string, unknown>;
  log: BloodHoundAuditLog;
}
