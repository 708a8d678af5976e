import { z } from "zod";

const InstantSchema = z.iso.datetime({ offset: true });

/**
 * A Zendesk Support audit log (`GET /api/v2/audit_logs`, PROVIDERS.md 2.2). `id`, `action`,
 * `actor_id`, `created_at` and `source_type` are what every entry has and what the connector
 * needs; the descriptive fields are read leniently.
 */
export const ZendeskAuditLogSchema = z.object({
  id: z.number().int(),
  url: z.string().nullish(),
  /** `create`, `destroy`, `exported`, `login`, `update`. */
  action: z.string().min(1),
  /** The action in the account's language ("Updated"). */
  action_label: z.string().nullish(),
  /** A user, or -1 for Zendesk itself. */
  actor_id: z.number().int(),
  actor_name: z.string().nullish(),
  change_description: z.string().nullish(),
  /** Whole seconds; the only time an entry has, and what `filter[created_at]` filters on. */
  created_at: InstantSchema,
  ip_address: z.string().nullish(),
  source_id: z.number().int().nullish(),
  source_label: z.string().nullish(),
  /** What was changed: `user`, `rule`, `ticket`, `apitoken`, `account_setting`, ... */
  source_type: z.string(),
});
export type ZendeskAuditLog = z.infer<typeof ZendeskAuditLogSchema>;

/** One page of cursor pagination (`page[size]` sent); the offset shape would fail here, as it should. */
export const ZendeskAuditLogPageSchema = z.object({
  audit_logs: z.array(z.unknown()),
  meta: z.object({ has_more: z.boolean(), after_cursor: z.string().nullish(), before_cursor: z.string().nullish() }),
  links: z.object({ next: z.string().nullish(), prev: z.string().nullish() }).optional(),
});

/** A record as received (for `raw`) with its validated view. */
export interface ZendeskRecord {
  raw: Record<string, unknown>;
  log: ZendeskAuditLog;
}
