import { z } from "zod";
import type { ProviderDefinition } from "../provider.types.js";
import { isRecordList } from "../shared/http-kit.js";
import { zendeskRecordKit } from "./zendesk.records.js";
import {
  authenticateZendesk,
  zendeskError,
  zendeskRateLimitHeaders,
  zendeskRoutes,
  zendeskTooManyRequests,
} from "./zendesk.routes.js";

export const ZendeskCredentialsSchema = z.strictObject({
  /** The admin whose API token is used: `Authorization: Basic base64("{email}/token:{apiToken}")`. */
  email: z.string().min(1),
  apiToken: z.string().min(1),
  /** An OAuth access token with `auditlogs:read`: `Authorization: Bearer <oauthToken>`. */
  oauthToken: z.string().min(1),
  /** A valid OAuth token of a non-admin (or a non-Enterprise account): answered with 403. */
  forbiddenOAuthToken: z.string().min(1),
});
export type ZendeskCredentials = z.infer<typeof ZendeskCredentialsSchema>;

export const DEFAULT_ZENDESK_CREDENTIALS: ZendeskCredentials = {
  email: "admin@acme.example",
  apiToken: "zd-sim-api-token-6Hq2Lw9Xv4Rk",
  oauthToken: "zd-sim-oauth-token-c81f5e2a9b7d",
  forbiddenOAuthToken: "zd-sim-agent-oauth-token-0e4d6b1f",
};

/**
 * Zendesk Support: `GET /api/v2/audit_logs[.json]` (cursor pagination with `page[size]`,
 * offset pagination without), `GET /api/v2/audit_logs/{id}`, account-wide per-minute limit.
 */
export const zendeskProvider: ProviderDefinition<"zendesk"> = {
  name: "zendesk",
  basePath: "",
  defaultCredentials: DEFAULT_ZENDESK_CREDENTIALS,
  credentialsSchema: ZendeskCredentialsSchema.partial(),
  defaultOrder: "newest-first",
  rateLimitScope: "account",
  records: zendeskRecordKit,
  routes: zendeskRoutes,
  requiredFields: ["id", "action", "actor_id", "created_at", "source_type"],
  authenticate: authenticateZendesk,
  notFound: () => zendeskError(404, "InvalidEndpoint", "Not found"),
  serverError: () => zendeskError(500, "InternalServerError", "Something went wrong. Please try again later."),
  tooManyRequests: zendeskTooManyRequests,
  rateLimitHeaders: zendeskRateLimitHeaders,
  recordsInBody: (body) => {
    if (typeof body !== "object" || body === null) return undefined;
    const { audit_logs: list, audit_log: single } = body as { audit_logs?: unknown; audit_log?: unknown };
    if (isRecordList(list)) return list;
    return typeof single === "object" && single !== null ? [single as Record<string, unknown>] : undefined;
  },
};
