import { z } from "zod";
import type { ProviderDefinition } from "../provider.types.js";
import { isRecordList } from "../shared/http-kit.js";
import { bloodhoundRecordKit } from "./bloodhound.records.js";
import {
  authenticateBloodHound,
  bloodHoundError,
  bloodHoundPreflight,
  bloodHoundRateLimitHeaders,
  bloodHoundRoutes,
  bloodHoundTooManyRequests,
  finalizeBloodHound,
} from "./bloodhound.routes.js";

export const BloodHoundCredentialsSchema = z.strictObject({
  /** A session JWT (from `POST /api/v2/login`): `Authorization: Bearer <jwt>`. */
  jwt: z.string().min(1),
  /** API token id (a UUID) for signed requests: `Authorization: bhesignature <tokenId>`. */
  tokenId: z.uuid(),
  /** The token's key, which keys the HMAC-SHA256 signature chain. */
  tokenKey: z.string().min(1),
  /** A valid JWT of a user without the audit-log permission: 403, and an `UnauthorizedAccessAttempt` row. */
  forbiddenJwt: z.string().min(1),
});
export type BloodHoundCredentials = z.infer<typeof BloodHoundCredentialsSchema>;

export const DEFAULT_BLOODHOUND_CREDENTIALS: BloodHoundCredentials = {
  jwt: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiI0MjExIiwic3ViIjoiM2M5MGMzY2MtMGQ0NC00YjUwLTg4ODgtOGRkMjU3MzYwNTJhIiwiaWF0IjoxNzY3MjI1NjAwLCJleHAiOjQxMDI0NDQ4MDB9.JLI23Rdd5cUuFR_gvSNL1zqi7DA95DnBrTluAw_eXNI",
  tokenId: "9b1d7c2e-5f3a-4c8e-b2d1-7e6f5a4b3c2d",
  tokenKey: "bh-sim-token-key-Q2xhdWRlU2ltdWxhdG9yS2V5MDAx",
  forbiddenJwt:
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiI0MjEyIiwic3ViIjoiNmYxZDJjM2ItNGE1OS00ZThkLTljN2ItMWEyYjNjNGQ1ZTZmIiwiaWF0IjoxNzY3MjI1NjAwLCJleHAiOjQxMDI0NDQ4MDB9.Lu2HMbXMRIU9tWcUUF7KKcqxNu-wGZwbOCAMLy9dkQQ",
};

/**
 * SpecterOps BloodHound (CE / Enterprise): `GET /api/v2/audit` with `{count, limit, skip,
 * data: {logs}}`, offset paging over a window forced newest first, JWT or HMAC-signed requests,
 * and tollbooth's per-address limit of 55 requests a second.
 */
export const bloodhoundProvider: ProviderDefinition<"bloodhound"> = {
  name: "bloodhound",
  basePath: "",
  defaultCredentials: DEFAULT_BLOODHOUND_CREDENTIALS,
  credentialsSchema: BloodHoundCredentialsSchema.partial(),
  defaultOrder: "newest-first",
  rateLimitScope: "client-address",
  records: bloodhoundRecordKit,
  routes: bloodHoundRoutes,
  requiredFields: ["id", "created_at", "action", "status", "commit_id"],
  authenticate: authenticateBloodHound,
  notFound: (request) => bloodHoundError(request, 404, "resource not found"),
  serverError: (request) =>
    bloodHoundError(
      request,
      500,
      "an internal error has occurred that is preventing the service from servicing this request",
    ),
  tooManyRequests: bloodHoundTooManyRequests,
  rateLimitHeaders: bloodHoundRateLimitHeaders,
  preflight: bloodHoundPreflight,
  finalize: finalizeBloodHound,
  recordsInBody: (body) => {
    const logs = (body as { data?: { logs?: unknown } } | null)?.data?.logs;
    return isRecordList(logs) ? logs : undefined;
  },
};
