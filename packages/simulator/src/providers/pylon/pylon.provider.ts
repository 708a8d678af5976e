import { z } from "zod";
import type { ProviderDefinition } from "../provider.types.js";
import { isRecordList } from "../shared/http-kit.js";
import { pylonRecordKit } from "./pylon.records.js";
import { authenticatePylon, pylonError, pylonRoutes, pylonTooManyRequests } from "./pylon.routes.js";

export const PylonCredentialsSchema = z.strictObject({
  /** An API token created by an admin of an Enterprise org: `Authorization: Bearer <token>`. */
  token: z.string().min(1),
  /** A valid token without audit-log access (created by a non-admin): answered with 403. */
  forbiddenToken: z.string().min(1),
});
export type PylonCredentials = z.infer<typeof PylonCredentialsSchema>;

export const DEFAULT_PYLON_CREDENTIALS: PylonCredentials = {
  token: "pylon-sim-admin-token-3f9c2a71",
  forbiddenToken: "pylon-sim-member-token-7b1e0455",
};

/**
 * Pylon: `GET /audit-logs` (cursor + limit) and `POST /audit-logs/search` (filter tree) on
 * `https://api.usepylon.com`, bearer token, per-endpoint per-minute limits (60 and 10)
 * signalled with `X-Retry-After` and `X-Rate-Limit-Remaining`.
 */
export const pylonProvider: ProviderDefinition<"pylon"> = {
  name: "pylon",
  basePath: "",
  defaultCredentials: DEFAULT_PYLON_CREDENTIALS,
  credentialsSchema: PylonCredentialsSchema.partial(),
  // UNCONFIRMED: Pylon does not document the order. Oldest first is what "persist the cursor and
  // resume where you left off" needs; `pylon.order` switches it.
  defaultOrder: "oldest-first",
  // Limits are per organization (all tokens share them) and per endpoint.
  rateLimitScope: "account",
  records: pylonRecordKit,
  routes: pylonRoutes,
  requiredFields: ["id", "action", "action_happened_at", "created_at", "object_type"],
  authenticate: authenticatePylon,
  notFound: (request) => pylonError(request, 404, "not found"),
  serverError: (request) => pylonError(request, 500, "internal server error"),
  tooManyRequests: pylonTooManyRequests,
  // UNCONFIRMED whether a plain Retry-After is sent too; we send only Pylon's own headers.
  rateLimitHeaders: (verdict) => ({ "X-Rate-Limit-Remaining": String(verdict.remaining) }),
  recordsInBody: (body) => {
    const data = typeof body === "object" && body !== null ? (body as { data?: unknown }).data : undefined;
    return isRecordList(data) ? data : undefined;
  },
};
