import { z } from "zod";
import type { AuthOutcome, ProviderRoute, ProviderRuntime } from "../provider.types.js";
import {
  headerValue,
  isJsonContentType,
  jsonResponse,
  parseBearerAuthorization,
  parseStrictInt,
  secretEquals,
  type SimRequest,
  type SimResponse,
} from "../shared/http-kit.js";
import { parseRfc3339Us } from "../shared/instant.js";
import { retryAfterSeconds, type RateLimitVerdict } from "../shared/rate-limiter.js";
import { compareAscending, compareDescending, type FeedPosition, type StoredEntry } from "../shared/record-store.js";
import type { PylonAuditLog } from "./pylon.records.js";

const DEFAULT_LIMIT = 100;
/** "Must be greater than 0 and less than 1000." */
const MAX_LIMIT = 999;
const MAX_FILTER_DEPTH = 3;

/** Pylon's `ErrorApiResponseBody`. */
export function pylonError(
  request: SimRequest,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): SimResponse {
  return jsonResponse(status, { errors: [message], request_id: request.requestId }, headers);
}

// UNCONFIRMED: Pylon documents 403 but not 401 for these endpoints. We answer a missing or unknown
// token with 401 (what bearer-token APIs, Pylon's other endpoints included, normally do) and
// keep 403 for a valid token that lacks audit-log access (non-admin or non-Enterprise).
export function authenticatePylon(request: SimRequest, runtime: ProviderRuntime<"pylon">): AuthOutcome {
  const token = parseBearerAuthorization(headerValue(request, "authorization"));
  if (token !== undefined && secretEquals(token, runtime.credentials.token))
    return { ok: true, principal: "admin-token" };
  if (token !== undefined && secretEquals(token, runtime.credentials.forbiddenToken)) {
    return {
      ok: false,
      response: pylonError(request, 403, "audit logs are only available to admins on the Enterprise plan"),
    };
  }
  return {
    ok: false,
    response: pylonError(request, 401, token === undefined ? "missing bearer token" : "invalid api token"),
  };
}

export function pylonTooManyRequests(request: SimRequest, verdict: RateLimitVerdict): SimResponse {
  return pylonError(request, 429, "rate limit exceeded, please retry later", {
    "X-Retry-After": String(retryAfterSeconds(verdict)),
    "X-Rate-Limit-Remaining": "0",
  });
}

// The cursor is opaque to clients; inside it names the last record served and the feed order.
const CursorSchema = z.strictObject({ o: z.enum(["a", "d"]), t: z.number(), s: z.number() });
type Cursor = z.infer<typeof CursorSchema>;

function encodeCursor(position: FeedPosition, order: "a" | "d"): string {
  return Buffer.from(JSON.stringify({ o: order, t: position.timeUs, s: position.seq } satisfies Cursor)).toString(
    "base64url",
  );
}

function decodeCursor(value: string): Cursor | undefined {
  try {
    const parsed = CursorSchema.safeParse(JSON.parse(Buffer.from(value, "base64url").toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

type RecordPredicate = (record: PylonAuditLog) => boolean;

/**
 * One page in feed order after the cursor. The cursor handed back always names the last
 * record served (or stays put on an empty page), so a poller that saves it between runs
 * resumes exactly where it stopped and later sees the records written since — the usage
 * Pylon's SIEM guide describes.
 */
function listPage(
  request: SimRequest,
  runtime: ProviderRuntime<"pylon">,
  cursorValue: string | undefined,
  limit: number,
  matches: RecordPredicate,
): SimResponse {
  const order = runtime.order === "oldest-first" ? "a" : "d";
  const compare = order === "a" ? compareAscending : compareDescending;
  let after: FeedPosition | undefined;
  if (cursorValue !== undefined && cursorValue !== "") {
    const cursor = decodeCursor(cursorValue);
    if (!cursor || cursor.o !== order) return pylonError(request, 400, "invalid cursor");
    after = { timeUs: cursor.t, seq: cursor.s };
  }
  const feed: StoredEntry<PylonAuditLog>[] =
    order === "a" ? [...runtime.store.ascending()] : runtime.store.descending();
  const remaining = feed.filter((entry) => (after === undefined || compare(entry, after) > 0) && matches(entry.record));
  const page = remaining.slice(0, limit);
  const last = page.at(-1);
  // With nothing served yet, the cursor points before the first record, so it still resumes correctly.
  const position =
    last ?? after ?? (order === "a" ? { timeUs: -Infinity, seq: -1 } : { timeUs: Infinity, seq: Infinity });
  return jsonResponse(200, {
    data: page.map((entry) => entry.record),
    pagination: { cursor: encodeCursor(sanitize(position), order), has_next_page: remaining.length > page.length },
    request_id: request.requestId,
  });
}

/** JSON has no infinities; the origin positions use the extreme safe integers instead. */
function sanitize(position: FeedPosition): FeedPosition {
  const clamp = (n: number) => Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
  return { timeUs: clamp(position.timeUs), seq: clamp(position.seq) };
}

function parseLimit(value: unknown): number | undefined {
  const limit =
    typeof value === "string"
      ? parseStrictInt(value)
      : typeof value === "number" && Number.isInteger(value)
        ? value
        : undefined;
  return limit !== undefined && limit > 0 && limit <= MAX_LIMIT ? limit : undefined;
}

const LIMIT_MESSAGE = "limit must be greater than 0 and less than 1000";

const listAuditLogs: ProviderRoute<"pylon"> = {
  method: "GET",
  path: /^\/audit-logs\/?$/,
  endpoint: "GET /audit-logs",
  rateLimit: { requests: 60, perMs: 60_000 },
  handle(request, { runtime }) {
    const rawLimit = request.query.get("limit");
    const limit = rawLimit === null ? DEFAULT_LIMIT : parseLimit(rawLimit);
    if (limit === undefined) return pylonError(request, 400, LIMIT_MESSAGE);
    return listPage(request, runtime, request.query.get("cursor") ?? undefined, limit, () => true);
  },
};

interface PylonFilter {
  field?: string | undefined;
  operator: string;
  value?: string | undefined;
  values?: string[] | undefined;
  subfilters?: PylonFilter[] | undefined;
}

const FilterSchema: z.ZodType<PylonFilter> = z.lazy(() =>
  z.object({
    field: z.string().optional(),
    operator: z.string(),
    value: z.string().optional(),
    values: z.array(z.string()).optional(),
    subfilters: z.array(FilterSchema).optional(),
  }),
);

const SearchBodySchema = z.object({
  cursor: z.string().optional(),
  limit: z.unknown().optional(),
  filter: FilterSchema.optional(),
});

const ACTION_OPERATORS = ["equals", "in", "not_in", "string_contains", "string_does_not_contain"];
const TIME_OPERATORS = ["time_is_after", "time_is_before", "time_range"];

/** Compiles a search filter tree into a predicate, or explains why Pylon would refuse it. */
function compileFilter(filter: PylonFilter, depth: number): RecordPredicate | string {
  if (depth > MAX_FILTER_DEPTH) return `filter tree exceeds the maximum depth of ${MAX_FILTER_DEPTH}`;
  if (filter.operator === "and" || filter.operator === "or") {
    if (!filter.subfilters?.length) return `operator ${filter.operator} requires subfilters`;
    const compiled: RecordPredicate[] = [];
    for (const sub of filter.subfilters) {
      const predicate = compileFilter(sub, depth + 1);
      if (typeof predicate === "string") return predicate;
      compiled.push(predicate);
    }
    return filter.operator === "and" ? (r) => compiled.every((p) => p(r)) : (r) => compiled.some((p) => p(r));
  }
  if (filter.field === "action") {
    if (!ACTION_OPERATORS.includes(filter.operator))
      return `operator ${filter.operator} is not supported for field action`;
    if (filter.operator === "in" || filter.operator === "not_in") {
      const values = filter.values;
      if (!values) return `operator ${filter.operator} requires values`;
      return filter.operator === "in" ? (r) => values.includes(r.action) : (r) => !values.includes(r.action);
    }
    const value = filter.value;
    if (value === undefined) return `operator ${filter.operator} requires a value`;
    if (filter.operator === "equals") return (r) => r.action === value;
    if (filter.operator === "string_contains") return (r) => r.action.includes(value);
    return (r) => !r.action.includes(value);
  }
  if (filter.field === "action_happened_at") {
    if (!TIME_OPERATORS.includes(filter.operator))
      return `operator ${filter.operator} is not supported for field action_happened_at`;
    const happenedAt = (r: PylonAuditLog) => parseRfc3339Us(r.action_happened_at) ?? 0;
    if (filter.operator === "time_range") {
      // UNCONFIRMED: how time_range takes its bounds. We read values: [start, end], start
      // inclusive and end exclusive, so adjacent ranges neither overlap nor leave gaps.
      const [start, end] = (filter.values ?? []).map(parseRfc3339Us);
      if (filter.values?.length !== 2 || start === undefined || end === undefined) {
        return "operator time_range requires values with two RFC3339 timestamps";
      }
      return (r) => happenedAt(r) >= start && happenedAt(r) < end;
    }
    const bound = filter.value === undefined ? undefined : parseRfc3339Us(filter.value);
    if (bound === undefined) return `operator ${filter.operator} requires an RFC3339 value`;
    // UNCONFIRMED: strictness; the operator names suggest strict comparisons, which we apply.
    return filter.operator === "time_is_after" ? (r) => happenedAt(r) > bound : (r) => happenedAt(r) < bound;
  }
  return `field ${filter.field ?? "(missing)"} is not filterable for audit logs`;
}

const searchAuditLogs: ProviderRoute<"pylon"> = {
  method: "POST",
  path: /^\/audit-logs\/search\/?$/,
  endpoint: "POST /audit-logs/search",
  rateLimit: { requests: 10, perMs: 60_000 },
  handle(request, { runtime }) {
    let json: unknown = {};
    if (request.body.length > 0) {
      if (!isJsonContentType(request)) return pylonError(request, 400, "request body must be JSON");
      try {
        json = JSON.parse(request.body.toString("utf8"));
      } catch {
        return pylonError(request, 400, "invalid JSON in request body");
      }
    }
    const body = SearchBodySchema.safeParse(json);
    if (!body.success) return pylonError(request, 400, `invalid request body: ${z.prettifyError(body.error)}`);
    const limit = body.data.limit === undefined ? DEFAULT_LIMIT : parseLimit(body.data.limit);
    if (limit === undefined) return pylonError(request, 400, LIMIT_MESSAGE);
    const predicate = body.data.filter ? compileFilter(body.data.filter, 1) : () => true;
    if (typeof predicate === "string") return pylonError(request, 400, `invalid filter: ${predicate}`);
    return listPage(request, runtime, body.data.cursor, limit, predicate);
  },
};

/** `GET /me`, which Pylon documents for checking a token. */
const me: ProviderRoute<"pylon"> = {
  method: "GET",
  path: /^\/me\/?$/,
  endpoint: "GET /me",
  rateLimit: { requests: 60, perMs: 60_000 },
  handle(request) {
    return jsonResponse(200, {
      data: { id: "3f1c9e52-6c1f-4f7a-9a55-2d9a7c1b0e11", name: "Vigil audit export" },
      request_id: request.requestId,
    });
  },
};

export const pylonRoutes: readonly ProviderRoute<"pylon">[] = [listAuditLogs, searchAuditLogs, me];
