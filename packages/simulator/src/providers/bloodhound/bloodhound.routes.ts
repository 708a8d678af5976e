import type { AuthOutcome, ProviderRoute, ProviderRuntime } from "../provider.types.js";
import {
  headerValue,
  jsonResponse,
  secretEquals,
  withHeaders,
  type SimRequest,
  type SimResponse,
} from "../shared/http-kit.js";
import {
  MICROS_PER_HOUR,
  MICROS_PER_MS,
  MICROS_PER_MINUTE,
  formatInstant,
  parseIsoLenientUs,
  parseRfc3339Us,
} from "../shared/instant.js";
import type { RateLimitVerdict } from "../shared/rate-limiter.js";
import type { StoredEntry } from "../shared/record-store.js";
import type { BloodHoundAuditLog } from "./bloodhound.records.js";
import { bloodHoundSignature } from "./bloodhound.signature.js";

const DEFAULT_LIMIT = 1000;
const DEFAULT_LOOKBACK_US = 365 * 24 * MICROS_PER_HOUR;
const MAX_CLOCK_SKEW_US = MICROS_PER_HOUR;
const DEFAULT_WAIT_SECONDS = 30;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The user behind `forbiddenJwt`: authenticated, but without the audit-log permission. */
const BLOODHOUND_FORBIDDEN_USER = {
  actor_id: "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f",
  actor_name: "readonly-analyst",
  actor_email: "readonly.analyst@corp.example",
} as const;

/** BloodHound's V2 error wrapper (`api.ErrorWrapper`). */
export function bloodHoundError(
  request: SimRequest,
  status: number,
  message: string,
  context = "",
  requestId = request.requestId,
): SimResponse {
  return jsonResponse(status, {
    http_status: status,
    timestamp: new Date().toISOString(),
    request_id: requestId,
    errors: [{ context, message }],
  });
}

function signatureFailure(request: SimRequest, status: number, reason: string): AuthOutcome {
  return {
    ok: false,
    response: bloodHoundError(request, status, `unable to validate request signature for client: ${reason}`),
  };
}

const goTime = (us: number) => formatInstant(us - (us % 1_000_000), "s");

/** `ValidateRequestSignature`, check by check, in the server's order. */
function validateSignature(request: SimRequest, runtime: ProviderRuntime<"bloodhound">, tokenId: string): AuthOutcome {
  const requestDate = headerValue(request, "requestdate");
  if (!requestDate) return signatureFailure(request, 400, "no request date header");
  const clientUs = parseRfc3339Us(requestDate);
  if (clientUs === undefined) {
    return signatureFailure(
      request,
      400,
      `malformed request date: malformed request date: parsing time "${requestDate}" as "2006-01-02T15:04:05Z07:00": cannot parse`,
    );
  }
  const signature = headerValue(request, "signature");
  if (!signature) return signatureFailure(request, 400, "no signature header");
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(signature)) {
    return signatureFailure(request, 400, "malformed signature header: illegal base64 data at input byte 0");
  }
  if (tokenId.toLowerCase() !== runtime.credentials.tokenId.toLowerCase())
    return signatureFailure(request, 401, "resource not found");
  const serverUs = request.receivedAtMs * MICROS_PER_MS;
  const skew = Math.abs(serverUs - clientUs) - MAX_CLOCK_SKEW_US;
  if (skew > 0) {
    const direction = clientUs > serverUs ? "ahead" : "behind";
    return signatureFailure(
      request,
      401,
      `signature too far ${direction} by ${(skew / MICROS_PER_MINUTE).toFixed(2)} minutes. Server time is ${goTime(serverUs)}. Client time is ${goTime(clientUs)}`,
    );
  }
  // The server signs request.RequestURI: the raw path and query as sent. A real server has no
  // routing prefix, so a signature over the path without the simulator's `/bloodhound` is accepted too.
  const expected = [request.rawTarget, request.target].map((requestUri) =>
    bloodHoundSignature({
      tokenKey: runtime.credentials.tokenKey,
      method: request.method,
      requestUri,
      requestDate,
      body: request.body,
    }),
  );
  if (!expected.some((digest) => secretEquals(signature, digest)))
    return signatureFailure(request, 401, "digest validation failed: signature digest mismatch");
  return { ok: true, principal: `token:${tokenId}` };
}

/** AuthMiddleware, then the route's permission check (which writes an `UnauthorizedAccessAttempt` row on refusal). */
export function authenticateBloodHound(request: SimRequest, runtime: ProviderRuntime<"bloodhound">): AuthOutcome {
  const header = headerValue(request, "authorization") ?? "";
  if (header === "") return { ok: false, response: bloodHoundError(request, 401, "not authenticated") };
  const parts = header.split(" ");
  if (parts.length !== 2)
    return {
      ok: false,
      response: bloodHoundError(request, 400, "Expected only two components for the Authorization header."),
    };
  const scheme = (parts[0] ?? "").toLowerCase();
  const parameter = parts[1] ?? "";
  if (scheme === "bhesignature") {
    if (!UUID.test(parameter)) return { ok: false, response: bloodHoundError(request, 400, "Token ID is malformed.") };
    return validateSignature(request, runtime, parameter);
  }
  if (scheme === "bearer") {
    if (secretEquals(parameter, runtime.credentials.jwt)) return { ok: true, principal: "jwt" };
    if (!secretEquals(parameter, runtime.credentials.forbiddenJwt))
      return { ok: false, response: bloodHoundError(request, 401, "Token Authorization failed.") };
    // UNCONFIRMED: the row's exact fields; we record the refused path.
    runtime.appendDrafts([
      {
        action: "UnauthorizedAccessAttempt",
        status: "failure",
        ...BLOODHOUND_FORBIDDEN_USER,
        fields: { path: request.path },
        request_id: request.requestId,
        source_ip_address: `${request.remoteAddress}:${request.remotePort}`,
      },
    ]);
    return { ok: false, response: bloodHoundError(request, 403, "not authorized") };
  }
  if (scheme === "") return { ok: false, response: bloodHoundError(request, 401, "not authenticated") };
  return { ok: false, response: bloodHoundError(request, 400, `Unexpected authorization scheme: ${scheme}.`) };
}

function tollboothHeaders(verdict: RateLimitVerdict, request: SimRequest): Record<string, string> {
  return {
    "X-Rate-Limit-Limit": ((verdict.limit * 1000) / verdict.windowMs).toFixed(2),
    "X-Rate-Limit-Duration": "1",
    "X-Rate-Limit-Request-Forwarded-For": headerValue(request, "x-forwarded-for") ?? "",
    "X-Rate-Limit-Request-Remote-Addr": `${request.remoteAddress}:${request.remotePort}`,
  };
}

export const bloodHoundRateLimitHeaders = tollboothHeaders;

/**
 * tollbooth's refusal in BloodHound's wrapper. Its request id comes from the request's own
 * `RequestID` header (usually absent, hence empty), and there is no Retry-After: tollbooth only
 * announces the rate (`X-Rate-Limit-Limit` per `X-Rate-Limit-Duration` seconds).
 */
export function bloodHoundTooManyRequests(request: SimRequest, verdict: RateLimitVerdict): SimResponse {
  const response = bloodHoundError(
    request,
    429,
    "You have reached maximum request limit.",
    "middleware",
    headerValue(request, "requestid") ?? "",
  );
  return withHeaders(response, tollboothHeaders(verdict, request));
}

function preferredWait(request: SimRequest): number | string {
  const prefer = headerValue(request, "prefer");
  if (!prefer) return DEFAULT_WAIT_SECONDS;
  const pairs = new Map(
    prefer.split(",").map((part) => {
      const [key = "", value = ""] = part.trim().split("=", 2);
      return [key.trim(), value.trim()] as const;
    }),
  );
  const wait = pairs.get("wait");
  if (wait === undefined) return DEFAULT_WAIT_SECONDS;
  return /^[+-]?\d+$/.test(wait) ? Number(wait) : `strconv.Atoi: parsing "${wait}": invalid syntax`;
}

/** The `Prefer: wait=N` check of ContextMiddleware, which runs before anything else. */
export function bloodHoundPreflight(request: SimRequest): SimResponse | undefined {
  const wait = preferredWait(request);
  return typeof wait === "string"
    ? bloodHoundError(request, 400, `Prefer header has an invalid value: ${wait}`)
    : undefined;
}

export function finalizeBloodHound(request: SimRequest, response: SimResponse): SimResponse {
  const wait = preferredWait(request);
  if (typeof wait === "string") return response;
  return withHeaders(response, { RequestID: request.requestId, "Preference-Applied": `wait=${wait.toFixed(2)}` });
}

const SORTABLE = ["id", "actor_name", "actor_email", "action", "created_at", "source_ip_address", "status"];
const ORDERED_PREDICATES = ["eq", "neq", "gt", "gte", "lt", "lte"];
const FILTERABLE: Readonly<Record<string, readonly string[]>> = {
  id: ORDERED_PREDICATES,
  created_at: ORDERED_PREDICATES,
  actor_id: ["eq", "neq"],
  actor_name: ["eq", "neq"],
  actor_email: ["eq", "neq"],
  action: ["eq", "neq"],
  request_id: ["eq", "neq"],
  source_ip_address: ["eq", "neq"],
  status: ["eq", "neq"],
};
// `~eq` parses but no column allows it in the stored handler, although the docs advertise it
// for strings (UNCONFIRMED for the newest builds).
const KNOWN_PREDICATES = [...ORDERED_PREDICATES, "~eq"];
const PAGINATION_PARAMETERS = ["before", "after", "limit", "offset", "skip", "sort_by"];
// Go's pattern, unanchored like FindStringSubmatch: `([~\w]+):([\w\--_ ]+)`.
const FILTER_PATTERN = /([~\w]+):([\w\--_ ]+)/;

type Row = BloodHoundAuditLog;
type Predicate = (row: Row) => boolean;

function compareValues(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function columnValue(row: Row, column: string): number | string {
  if (column === "id") return row.id;
  if (column === "created_at") return parseRfc3339Us(row.created_at) ?? 0;
  const value = (row as unknown as Record<string, unknown>)[column];
  return typeof value === "string" ? value : "";
}

/** Parses `column=predicate:value` filters the way `QueryParameterFilterParser` and the audit handler do. */
function parseFilters(request: SimRequest): Predicate[] | SimResponse {
  const predicates: Predicate[] = [];
  for (const [column, raw] of request.query.entries()) {
    if (PAGINATION_PARAMETERS.includes(column)) continue;
    const match = FILTER_PATTERN.exec(raw);
    // A value without a predicate is not a filter and is ignored (UNCONFIRMED: one stored
    // version reads it as `eq` instead).
    if (!match) continue;
    const predicate = match[1] ?? "";
    const value = match[2] ?? "";
    if (!KNOWN_PREDICATES.includes(predicate))
      return bloodHoundError(request, 400, "there are errors in the query parameter filters specified");
    const allowed = FILTERABLE[column];
    if (!allowed) return bloodHoundError(request, 400, `the specified column cannot be filtered: ${column}`);
    if (!allowed.includes(predicate)) {
      return bloodHoundError(
        request,
        400,
        `the specified filter predicate is not supported for this column: ${column} ${predicate}`,
      );
    }
    const operand: number | string | undefined =
      column === "id"
        ? /^-?\d+$/.test(value)
          ? Number(value)
          : undefined
        : column === "created_at"
          ? parseIsoLenientUs(value)
          : value;
    if (operand === undefined) {
      predicates.push(() => false);
      continue;
    }
    predicates.push((row) => {
      const order = compareValues(columnValue(row, column), operand);
      switch (predicate) {
        case "eq":
          return order === 0;
        case "neq":
          return order !== 0;
        case "gt":
          return order > 0;
        case "gte":
          return order >= 0;
        case "lt":
          return order < 0;
        default:
          return order <= 0;
      }
    });
  }
  return predicates;
}

function parseSort(request: SimRequest): ((a: Row, b: Row) => number)[] | SimResponse {
  const keys: ((a: Row, b: Row) => number)[] = [];
  for (const raw of request.query.getAll("sort_by")) {
    if (raw === "") return bloodHoundError(request, 400, "empty sort_by parameter supplied");
    const descending = raw.startsWith("-");
    const column = descending ? raw.slice(1) : raw;
    if (!SORTABLE.includes(column)) return bloodHoundError(request, 400, "column format does not support sorting");
    keys.push((a, b) => (descending ? -1 : 1) * compareValues(columnValue(a, column), columnValue(b, column)));
  }
  return keys;
}

function malformed(request: SimRequest, parameter: string, reason: string): SimResponse {
  return bloodHoundError(request, 400, `query parameter "${parameter}" is malformed: ${reason}`);
}

function parseOffset(request: SimRequest): number | SimResponse {
  // The handler reads `offset`; the docs and the response say `skip`. UNCONFIRMED which one a
  // current server honours, so both are accepted, `offset` first.
  const name = request.query.has("offset") ? "offset" : "skip";
  const raw = request.query.get(name);
  if (raw === null || raw === "") return 0;
  if (!/^[+-]?\d+$/.test(raw)) return malformed(request, name, `strconv.Atoi: parsing "${raw}": invalid syntax`);
  return Math.max(0, Number(raw));
}

function parseLimit(request: SimRequest): number | SimResponse {
  const raw = request.query.get("limit");
  if (raw === null || raw === "") return DEFAULT_LIMIT;
  if (!/^[+-]?\d+$/.test(raw))
    return malformed(
      request,
      "limit",
      `error converting limit value ${raw} to int: strconv.Atoi: parsing "${raw}": invalid syntax`,
    );
  const limit = Number(raw);
  if (limit < 0) return malformed(request, "limit", `invalid limit: ${raw}`);
  return limit;
}

function parseTime(request: SimRequest, name: "before" | "after", fallbackUs: number): number | SimResponse {
  const raw = request.query.get(name);
  if (raw === null || raw === "") return fallbackUs;
  const us = parseRfc3339Us(raw);
  return us ?? malformed(request, name, `parsing time "${raw}" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse`);
}

const isResponse = (value: unknown): value is SimResponse =>
  typeof value === "object" && value !== null && "status" in value && "body" in value;

const listAuditLogs: ProviderRoute<"bloodhound"> = {
  method: "GET",
  path: /^\/api\/v2\/audit\/?$/,
  endpoint: "GET /api/v2/audit",
  // tollbooth's default: 55 requests per second per client address.
  rateLimit: { requests: 55, perMs: 1_000 },
  handle(request, { runtime }) {
    const sortKeys = parseSort(request);
    if (isResponse(sortKeys)) return sortKeys;
    const filters = parseFilters(request);
    if (isResponse(filters)) return filters;
    const offset = parseOffset(request);
    if (isResponse(offset)) return offset;
    const limit = parseLimit(request);
    if (isResponse(limit)) return limit;
    const before = parseTime(request, "before", request.receivedAtMs * MICROS_PER_MS);
    if (isResponse(before)) return before;
    const after = parseTime(request, "after", before - DEFAULT_LOOKBACK_US);
    if (isResponse(after)) return after;

    const passes = (e: StoredEntry<Row>) => filters.every((p) => p(e.record));
    // `count` ignores the window; without filters it is every row.
    const count = filters.length === 0 ? runtime.store.size : runtime.store.ascending().filter(passes).length;
    // `created_at BETWEEN after AND before`: both ends inclusive. `at(k)` is the k-th row of the
    // window newest first (the store's order, ties newest-inserted first, as ids grow); without
    // filters it is read in place, so a page costs its own size rather than the window's.
    const stored = runtime.store.ascending();
    const { from, to } = runtime.store.indexRange(after, before);
    const matching = filters.length === 0 ? undefined : stored.slice(from, to).filter(passes).reverse();
    const total = matching ? matching.length : to - from;
    const at = matching
      ? (k: number) => matching[k] as StoredEntry<Row>
      : (k: number) => stored[to - 1 - k] as StoredEntry<Row>;
    // A limit of 0 adds no LIMIT clause (UNCONFIRMED: gorm's paginate scope skips zero).
    const first = Math.min(offset, total);
    const end = limit === 0 ? total : Math.min(total, offset + limit);
    let page: Row[];
    if (sortKeys.length === 0) {
      page = [];
      for (let k = first; k < end; k++) page.push(at(k).record);
    } else {
      // Always newest first; sort_by only orders rows with equal created_at (an entry's
      // `timeUs`), ties beyond that by id, newest first. Only rows sharing a time move, so
      // sorting the page widened to whole runs of equal times gives the rows that sorting the
      // entire window would put there.
      let lo = first;
      let hi = end;
      if (lo < hi) {
        while (lo > 0 && at(lo - 1).timeUs === at(lo).timeUs) lo--;
        while (hi < total && at(hi).timeUs === at(hi - 1).timeUs) hi++;
      }
      const run: StoredEntry<Row>[] = [];
      for (let k = lo; k < hi; k++) run.push(at(k));
      run.sort((a, b) => {
        const byTime = b.timeUs - a.timeUs;
        if (byTime !== 0) return byTime;
        for (const key of sortKeys) {
          const order = key(a.record, b.record);
          if (order !== 0) return order;
        }
        return b.record.id - a.record.id;
      });
      page = run.slice(first - lo, end - lo).map((e) => e.record);
    }
    return jsonResponse(200, { count, limit, skip: offset, data: { logs: page } });
  },
};

export const bloodHoundRoutes: readonly ProviderRoute<"bloodhound">[] = [listAuditLogs];
