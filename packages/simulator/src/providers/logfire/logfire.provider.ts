import { z } from "zod";
import type { ProviderDefinition } from "../provider.types.js";
import { isRecordList } from "../shared/http-kit.js";
import { logfireRecordKit } from "./logfire.records.js";
import {
  authenticateLogfire,
  logfireDetail,
  logfireRoutes,
  logfireServerError,
  logfireTooManyRequests,
} from "./logfire.routes.js";

export const LogfireCredentialsSchema = z.strictObject({
  /** An organization API key with the audit-log scope: `Authorization: Bearer <apiKey>`. */
  apiKey: z.string().min(1),
  /** A valid key without access to the organization's audit logs: 403. */
  forbiddenApiKey: z.string().min(1),
});
export type LogfireCredentials = z.infer<typeof LogfireCredentialsSchema>;

export const DEFAULT_LOGFIRE_CREDENTIALS: LogfireCredentials = {
  apiKey: "pylf_v1_us_sim_auditlog_4kQ9rT2mWx7Z",
  forbiddenApiKey: "pylf_v1_us_sim_project_key_8nB3",
};

/**
 * Pydantic Logfire: `GET /v1/audit-logs/` (required `start_time`, window of at most 90 days,
 * one bare JSON array newest first) and `GET /v1/audit-logs/{id}/` with the diff, under the
 * regional base `https://api-{us,eu}.pydantic.dev/api`.
 */
export const logfireProvider: ProviderDefinition<"logfire"> = {
  name: "logfire",
  basePath: "/api",
  defaultCredentials: DEFAULT_LOGFIRE_CREDENTIALS,
  credentialsSchema: LogfireCredentialsSchema.partial(),
  defaultOrder: "newest-first",
  rateLimitScope: "account",
  records: logfireRecordKit,
  routes: logfireRoutes,
  requiredFields: ["id", "created_at", "action", "user_name"],
  authenticate: authenticateLogfire,
  notFound: () => logfireDetail(404, "Not Found"),
  serverError: logfireServerError,
  tooManyRequests: logfireTooManyRequests,
  recordsInBody: (body) => {
    if (isRecordList(body)) return body;
    return typeof body === "object" && body !== null && !Array.isArray(body)
      ? [body as Record<string, unknown>]
      : undefined;
  },
};
