import { z } from "zod";
import type { ProviderDefinition } from "../provider.types.js";
import { isRecordList } from "../shared/http-kit.js";
import { ashbyRecordKit } from "./ashby.records.js";
import { ashbyFailure, ashbyRoutes, ashbyTooManyRequests, authenticateAshby, finalizeAshby } from "./ashby.routes.js";

export const AshbyCredentialsSchema = z.strictObject({
  /** An API key with `auditLogsRead`: `Authorization: Basic base64("<apiKey>:")`. */
  apiKey: z.string().min(1),
  /** A valid key without `auditLogsRead`: 403 `missing_endpoint_permission`. */
  forbiddenApiKey: z.string().min(1),
});
export type AshbyCredentials = z.infer<typeof AshbyCredentialsSchema>;

export const DEFAULT_ASHBY_CREDENTIALS: AshbyCredentials = {
  apiKey: "ashby-sim-key-9d2f6b0c1e7a4f35",
  forbiddenApiKey: "ashby-sim-key-without-audit-scope-52c8",
};

/**
 * Ashby: `POST /auditLog.list` (RPC, JSON body) on `https://api.ashbyhq.com`, Basic auth with
 * the key as user name, time-window queries with cursors bound to their parameters, failures
 * mostly as HTTP 200 `success: false`.
 */
export const ashbyProvider: ProviderDefinition<"ashby"> = {
  name: "ashby",
  basePath: "",
  defaultCredentials: DEFAULT_ASHBY_CREDENTIALS,
  credentialsSchema: AshbyCredentialsSchema.partial(),
  defaultOrder: "newest-first",
  rateLimitScope: "account",
  records: ashbyRecordKit,
  routes: ashbyRoutes,
  requiredFields: ["id", "createdAt", "category", "actor", "target"],
  authenticate: authenticateAshby,
  notFound: (request) => ashbyFailure(request, 404, "endpoint_not_found", "No such endpoint"),
  serverError: (request) => ashbyFailure(request, 500, "internal_error", "An internal error occurred"),
  tooManyRequests: ashbyTooManyRequests,
  finalize: finalizeAshby,
  recordsInBody: (body) => {
    const results = typeof body === "object" && body !== null ? (body as { results?: unknown }).results : undefined;
    return isRecordList(results) ? results : undefined;
  },
};
