import { createHash } from "node:crypto";
import { z } from "zod";
import type { AuthOutcome, ProviderRoute, ProviderRuntime } from "../provider.types.js";
import {
  headerValue,
  isJsonContentType,
  jsonResponse,
  parseBasicAuthorization,
  secretEquals,
  withHeaders,
  type SimRequest,
  type SimResponse,
} from "../shared/http-kit.js";
import { MICROS_PER_DAY, MICROS_PER_MS, parseIsoLenientUs, parseRfc3339Us } from "../shared/instant.js";
import { retryAfterSeconds, type RateLimitVerdict } from "../shared/rate-limiter.js";
import { compareDescending, type FeedPosition } from "../shared/record-store.js";
import { ASHBY_CATEGORIES, ASHBY_TARGET_TYPES, type AshbyAuditLogEntry } from "./ashby.records.js";

const MAX_LIMIT = 100;
const MAX_FILTER_ITEMS = 100;
const MAX_SPAN_MONTHS = 18;
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID-like request id (`01JRVWPBWZ40S39G83ZETPXF2E`), stable for one request. */
function ashbyRequestId(request: SimRequest): string {
  let time = "";
  let ms = request.receivedAtMs;
  for (let i = 0; i < 10; i++) {
    time = (CROCKFORD[ms % 32] ?? "0") + time;
    ms = Math.floor(ms / 32);
  }
  const digest = createHash("sha256").update(request.requestId).digest();
  const random = Array.from(digest.subarray(0, 16), (byte) => CROCKFORD[byte % 32] ?? "0").join("");
  return time + random;
}

/**
 * Ashby's failure body: the classic `errors: [code]` and the newer `errorInfo` side by side
 * (UNCONFIRMED that both coexist; a connector reading either works).
 */
export function ashbyFailure(
  request: SimRequest,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): SimResponse {
  return jsonResponse(
    status,
    { success: false, errors: [code], errorInfo: { code, message, requestId: ashbyRequestId(request) } },
    headers,
  );
}

// UNCONFIRMED (third-party): missing key 401; unknown key or missing permission 403. The
// password half of the Basic pair is ignored: Ashby documents it as empty.
export function authenticateAshby(request: SimRequest, runtime: ProviderRuntime<"ashby">): AuthOutcome {
  const basic = parseBasicAuthorization(headerValue(request, "authorization"));
  if (!basic || basic.user === "") {
    return {
      ok: false,
      response: ashbyFailure(
        request,
        401,
        "unauthenticated",
        "Missing API key: send it as the username of HTTP Basic authentication",
      ),
    };
  }
  if (secretEquals(basic.user, runtime.credentials.apiKey)) return { ok: true, principal: "api-key" };
  if (secretEquals(basic.user, runtime.credentials.forbiddenApiKey)) {
    return {
      ok: false,
      response: ashbyFailure(
        request,
        403,
        "missing_endpoint_permission",
        "The API key lacks the auditLogsRead permission",
      ),
    };
  }
  return {
    ok: false,
    response: ashbyFailure(request, 403, "invalid_api_key", "The API key is invalid or has been deactivated"),
  };
}

export function ashbyTooManyRequests(request: SimRequest, verdict: RateLimitVerdict): SimResponse {
  const seconds = retryAfterSeconds(verdict);
  return ashbyFailure(
    request,
    429,
    "rate_limit_exceeded",
    `Rate limit exceeded for this API key; retry in ${seconds} seconds`,
    {
      "Retry-After": String(seconds),
    },
  );
}

export function finalizeAshby(request: SimRequest, response: SimResponse): SimResponse {
  return withHeaders(response, { "x-ashby-request-id": ashbyRequestId(request) });
}

const StringListSchema = z.array(z.string()).nullish();
const ListBodySchema = z.object({
  cursor: z.string().nullish(),
  limit: z.number().int().min(1).max(MAX_LIMIT).nullish(),
  startDate: z.string().nullish(),
  endDate: z.string().nullish(),
  actorIds: StringListSchema,
  targetIds: StringListSchema,
  targetTypes: StringListSchema,
  categories: StringListSchema,
});
type ListBody = z.infer<typeof ListBodySchema>;

// The cursor carries the resolved window of the first page, so a paging run over a defaulted
// ("last 24 hours") window keeps one window, and a fingerprint of the parameters it belongs to.
const CursorSchema = z.strictObject({
  v: z.literal(1),
  t: z.number(),
  s: z.number(),
  w: z.tuple([z.number(), z.number()]),
  f: z.string(),
});
type Cursor = z.infer<typeof CursorSchema>;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(value: string): Cursor | undefined {
  try {
    const parsed = CursorSchema.safeParse(JSON.parse(Buffer.from(value, "base64url").toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const nonEmpty = (list: string[] | null | undefined) => (list && list.length > 0 ? list : undefined);

function fingerprint(body: ListBody): string {
  const sorted = (list: string[] | null | undefined) => nonEmpty(list)?.slice().sort();
  const key = JSON.stringify([
    body.startDate ?? null,
    body.endDate ?? null,
    sorted(body.actorIds) ?? null,
    sorted(body.targetIds) ?? null,
    sorted(body.targetTypes) ?? null,
    sorted(body.categories) ?? null,
  ]);
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

function addMonthsUs(us: number, months: number): number {
  const date = new Date(Math.floor(us / MICROS_PER_MS));
  date.setUTCMonth(date.getUTCMonth() + months);
  return date.getTime() * MICROS_PER_MS + (us % MICROS_PER_MS);
}

/**
 * The documented window rules: nothing → the 24 h ending now; only endDate → the 24 h ending
 * there; only startDate → startDate plus 24 h (not until now); both → that span, at most
 * 18 months. UNCONFIRMED bounds: start inclusive, end exclusive.
 */
function resolveWindow(body: ListBody, nowUs: number): [number, number] | string {
  const start = body.startDate ? parseIsoLenientUs(body.startDate) : undefined;
  const end = body.endDate ? parseIsoLenientUs(body.endDate) : undefined;
  if (body.startDate && start === undefined) return "startDate is not a valid ISO 8601 date";
  if (body.endDate && end === undefined) return "endDate is not a valid ISO 8601 date";
  if (start === undefined) return end === undefined ? [nowUs - MICROS_PER_DAY, nowUs] : [end - MICROS_PER_DAY, end];
  if (end === undefined) return [start, start + MICROS_PER_DAY];
  if (end < start) return "endDate must not be before startDate";
  if (end > addMonthsUs(start, MAX_SPAN_MONTHS)) return `the date window must not exceed ${MAX_SPAN_MONTHS} months`;
  return [start, end];
}

function readBody(request: SimRequest): unknown {
  // UNCONFIRMED: Ashby says Content-Type: application/json must be set explicitly. Like an
  // Express JSON parser, we then ignore a body sent under another type: the request runs as `{}`.
  if (!isJsonContentType(request) || request.body.length === 0) return {};
  return JSON.parse(request.body.toString("utf8"));
}

const listAuditLog: ProviderRoute<"ashby"> = {
  method: "POST",
  path: /^\/auditLog\.list\/?$/,
  endpoint: "POST /auditLog.list",
  // UNCONFIRMED: Ashby publishes no figure; a per-key budget of 1000 requests a minute.
  rateLimit: { requests: 1_000, perMs: 60_000 },
  handle(request, { runtime }) {
    let json: unknown;
    try {
      json = readBody(request);
    } catch {
      return ashbyFailure(request, 400, "invalid_input", "The request body is not valid JSON");
    }
    // Oversized filter lists and values outside the vocabulary are refused with HTTP 400.
    const record = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
    for (const field of ["actorIds", "targetIds", "targetTypes", "categories"]) {
      const value = record[field];
      if (Array.isArray(value) && value.length > MAX_FILTER_ITEMS) {
        return ashbyFailure(request, 400, "invalid_input", `${field} must contain at most ${MAX_FILTER_ITEMS} items`);
      }
    }
    const parsed = ListBodySchema.safeParse(json);
    // Other invalid input is a classic Ashby failure: HTTP 200 with success: false.
    if (!parsed.success) return ashbyFailure(request, 200, "invalid_input", z.prettifyError(parsed.error));
    const body = parsed.data;
    const unknownType = body.targetTypes?.find((t) => !ASHBY_TARGET_TYPES.includes(t));
    if (unknownType !== undefined)
      return ashbyFailure(request, 400, "invalid_input", `Unknown targetTypes value: ${unknownType}`);
    const unknownCategory = body.categories?.find((c) => !(c in ASHBY_CATEGORIES));
    if (unknownCategory !== undefined)
      return ashbyFailure(request, 400, "invalid_input", `Unknown categories value: ${unknownCategory}`);

    const print = fingerprint(body);
    let window: [number, number];
    let after: FeedPosition | undefined;
    if (body.cursor) {
      const cursor = decodeCursor(body.cursor);
      if (!cursor) return ashbyFailure(request, 200, "cursor_invalid", "The provided cursor could not be decoded");
      // UNCONFIRMED: a cursor reused with other parameters. The docs warn pages "may be empty
      // or incomplete"; we answer an empty last page, which a careless connector will notice.
      if (cursor.f !== print) return jsonResponse(200, { success: true, results: [], moreDataAvailable: false });
      window = cursor.w;
      after = { timeUs: cursor.t, seq: cursor.s };
    } else {
      const resolved = resolveWindow(body, request.receivedAtMs * MICROS_PER_MS);
      if (typeof resolved === "string") return ashbyFailure(request, 200, "invalid_input", resolved);
      window = resolved;
    }

    const [startUs, endUs] = window;
    const actorIds = nonEmpty(body.actorIds);
    const targetIds = nonEmpty(body.targetIds);
    const targetTypes = nonEmpty(body.targetTypes);
    const categories = nonEmpty(body.categories);
    const matches = (entry: AshbyAuditLogEntry): boolean => {
      const time = parseRfc3339Us(entry.createdAt) ?? 0;
      if (time < startUs || time >= endUs) return false;
      if (actorIds && (entry.actor.id === null || !actorIds.includes(entry.actor.id))) return false;
      if (targetIds && (entry.target.id === null || !targetIds.includes(entry.target.id))) return false;
      // targetTypes and categories combine with OR; both combine with the id filters by AND.
      if (targetTypes || categories)
        return (targetTypes?.includes(entry.target.type) ?? false) || (categories?.includes(entry.category) ?? false);
      return true;
    };
    const remaining = runtime.store
      .descending()
      .filter((e) => (after === undefined || compareDescending(e, after) > 0) && matches(e.record));
    const page = remaining.slice(0, body.limit ?? MAX_LIMIT);
    const last = page.at(-1);
    const moreDataAvailable = remaining.length > page.length;
    // UNCONFIRMED: no nextCursor (and no syncToken, which this endpoint does not take) on the last page.
    return jsonResponse(200, {
      success: true,
      results: page.map((e) => e.record),
      moreDataAvailable,
      ...(moreDataAvailable && last
        ? { nextCursor: encodeCursor({ v: 1, t: last.timeUs, s: last.seq, w: window, f: print }) }
        : {}),
    });
  },
};

export const ashbyRoutes: readonly ProviderRoute<"ashby">[] = [listAuditLog];
