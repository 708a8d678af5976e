import type { AuthOutcome, ProviderRoute, ProviderRuntime } from "../provider.types.js";
import {
  headerValue,
  jsonResponse,
  parseBearerAuthorization,
  secretEquals,
  textResponse,
  type SimRequest,
  type SimResponse,
} from "../shared/http-kit.js";
import { MICROS_PER_DAY, MICROS_PER_MS, parseIsoLenientUs } from "../shared/instant.js";
import { retryAfterSeconds, type RateLimitVerdict } from "../shared/rate-limiter.js";
import { LOGFIRE_ACTIONS, logfireRecordKit } from "./logfire.records.js";

const MAX_WINDOW_DAYS = 90;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** FastAPI's error body. */
export function logfireDetail(status: number, detail: unknown, headers: Record<string, string> = {}): SimResponse {
  return jsonResponse(status, { detail }, headers);
}

// UNCONFIRMED: 401 for a missing or unknown key (FastAPI's HTTPBearer wording); the documented
// 403 is for a key without access to the organization.
export function authenticateLogfire(request: SimRequest, runtime: ProviderRuntime<"logfire">): AuthOutcome {
  const token = parseBearerAuthorization(headerValue(request, "authorization"));
  if (token !== undefined && secretEquals(token, runtime.credentials.apiKey))
    return { ok: true, principal: "org-api-key" };
  if (token !== undefined && secretEquals(token, runtime.credentials.forbiddenApiKey)) {
    return { ok: false, response: logfireDetail(403, "The token does not have access to this organization.") };
  }
  return {
    ok: false,
    response: logfireDetail(401, token === undefined ? "Not authenticated" : "Invalid API key", {
      "WWW-Authenticate": "Bearer",
    }),
  };
}

// UNCONFIRMED: Logfire documents no limit for this API; we answer like FastAPI rate limiters do.
export function logfireTooManyRequests(_request: SimRequest, verdict: RateLimitVerdict): SimResponse {
  return logfireDetail(429, "Too Many Requests", { "Retry-After": String(retryAfterSeconds(verdict)) });
}

/** Starlette's unhandled-exception answer is plain text. */
export function logfireServerError(): SimResponse {
  return textResponse(500, "Internal Server Error");
}

interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Record<string, unknown>;
}

function datetimeIssue(name: string, value: string): ValidationIssue {
  return {
    type: "datetime_from_date_parsing",
    loc: ["query", name],
    msg: "Input should be a valid datetime or date, invalid datetime format",
    input: value,
    ctx: { error: "invalid datetime format" },
  };
}

const EXPECTED_ACTIONS = LOGFIRE_ACTIONS.map((a) => `'${a}'`)
  .join(", ")
  .replace(/, ([^,]*)$/, " or $1");

const listAuditLogs: ProviderRoute<"logfire"> = {
  method: "GET",
  // The trailing slash is required: without it the path does not match and the answer is 404.
  path: /^\/api\/v1\/audit-logs\/$/,
  endpoint: "GET /v1/audit-logs/",
  rateLimit: { requests: 60, perMs: 60_000 },
  handle(request, { runtime }) {
    const { query } = request;
    const issues: ValidationIssue[] = [];
    const rawStart = query.get("start_time");
    const rawEnd = query.get("end_time");
    const action = query.get("action");
    // Pydantic reads ISO 8601 leniently (a date alone, no offset meaning UTC); the docs ask for YYYY-MM-DDTHH:MM:SSZ.
    const startUs = rawStart === null ? undefined : parseIsoLenientUs(rawStart);
    const endUs = rawEnd === null ? undefined : parseIsoLenientUs(rawEnd);
    if (rawStart === null)
      issues.push({ type: "missing", loc: ["query", "start_time"], msg: "Field required", input: null });
    else if (startUs === undefined) issues.push(datetimeIssue("start_time", rawStart));
    if (rawEnd !== null && endUs === undefined) issues.push(datetimeIssue("end_time", rawEnd));
    if (action !== null && !(LOGFIRE_ACTIONS as readonly string[]).includes(action)) {
      issues.push({
        type: "enum",
        loc: ["query", "action"],
        msg: `Input should be ${EXPECTED_ACTIONS}`,
        input: action,
        ctx: { expected: EXPECTED_ACTIONS },
      });
    }
    if (issues.length > 0 || startUs === undefined) return logfireDetail(422, issues);

    // UNCONFIRMED: end_time defaults to now.
    const end = endUs ?? request.receivedAtMs * MICROS_PER_MS;
    // UNCONFIRMED: a reversed window is refused like an oversized one.
    if (end < startUs) return logfireDetail(400, "end_time must be after start_time");
    if (end - startUs > MAX_WINDOW_DAYS * MICROS_PER_DAY) {
      return logfireDetail(
        400,
        `The maximum query window is ${MAX_WINDOW_DAYS} days. Make multiple requests to retrieve records over a longer period.`,
      );
    }
    // Start inclusive, end exclusive; everything in the window at once, newest first.
    const rows = runtime.store
      .descending()
      .filter((e) => e.timeUs >= startUs && e.timeUs < end && (action === null || e.record.action === action))
      .map((e) => logfireRecordKit.toListed(e.record));
    return jsonResponse(200, rows);
  },
};

const getAuditLog: ProviderRoute<"logfire"> = {
  method: "GET",
  path: /^\/api\/v1\/audit-logs\/([^/]+)\/$/,
  endpoint: "GET /v1/audit-logs/{id}/",
  rateLimit: { requests: 60, perMs: 60_000 },
  handle(_request, { runtime, params }) {
    const id = decodeURIComponent(params[0] ?? "");
    if (!UUID.test(id)) {
      return logfireDetail(422, [
        { type: "uuid_parsing", loc: ["path", "audit_log_id"], msg: "Input should be a valid UUID", input: id },
      ]);
    }
    const entry = runtime.store.get(id.toLowerCase()) ?? runtime.store.get(id);
    return entry ? jsonResponse(200, entry.record) : logfireDetail(404, "Audit log not found");
  },
};

export const logfireRoutes: readonly ProviderRoute<"logfire">[] = [listAuditLogs, getAuditLog];
