import type { AuthOutcome, ProviderRoute, ProviderRuntime } from "../provider.types.js";
import {
  headerValue,
  jsonResponse,
  parseBasicAuthorization,
  parseBearerAuthorization,
  parseStrictInt,
  secretEquals,
  textResponse,
  type SimRequest,
  type SimResponse,
} from "../shared/http-kit.js";
import { parseIsoLenientUs, parseRfc3339Us } from "../shared/instant.js";
import { retryAfterSeconds, type RateLimitVerdict } from "../shared/rate-limiter.js";
import { compareAscending, compareDescending, type FeedPosition, type StoredEntry } from "../shared/record-store.js";
import type { ZendeskAuditLog } from "./zendesk.records.js";

const MAX_PAGE_SIZE = 100;
const OFFSET_DEFAULT_PER_PAGE = 100;
/** Since 2023-08-15 offset pagination stops at the first 10,000 records. */
const OFFSET_MAX_RECORDS = 10_000;

/** Zendesk's usual error envelope. */
export function zendeskError(
  status: number,
  error: string,
  description?: string,
  headers: Record<string, string> = {},
): SimResponse {
  return jsonResponse(status, description === undefined ? { error } : { error, description }, headers);
}

// UNCONFIRMED exact bodies of 401 and 403; these are the well-known Zendesk wordings.
export function authenticateZendesk(request: SimRequest, runtime: ProviderRuntime<"zendesk">): AuthOutcome {
  const header = headerValue(request, "authorization");
  const { email, apiToken, oauthToken, forbiddenOAuthToken } = runtime.credentials;
  const basic = parseBasicAuthorization(header);
  // `{email}/token:{api_token}`; `{email}:{password}` would need password access, which is off.
  if (basic && secretEquals(basic.user, `${email}/token`) && secretEquals(basic.password, apiToken))
    return { ok: true, principal: "api-token" };
  const bearer = parseBearerAuthorization(header);
  if (bearer !== undefined && secretEquals(bearer, oauthToken)) return { ok: true, principal: "oauth" };
  if (bearer !== undefined && secretEquals(bearer, forbiddenOAuthToken)) {
    return {
      ok: false,
      response: zendeskError(
        403,
        "Forbidden",
        "You do not have access to this page. Please contact the account owner of this help desk for further help.",
      ),
    };
  }
  return {
    ok: false,
    response: zendeskError(401, "Couldn't authenticate you", undefined, {
      "WWW-Authenticate": 'Basic realm="Web Password"',
    }),
  };
}

/** Zendesk answers rate-limited requests with a plain-text sentence, not JSON. */
export function zendeskTooManyRequests(_request: SimRequest, verdict: RateLimitVerdict): SimResponse {
  return textResponse(429, "Number of allowed API requests per minute exceeded", {
    "Retry-After": String(retryAfterSeconds(verdict)),
    "X-Rate-Limit": String(verdict.limit),
    "X-Rate-Limit-Remaining": "0",
  });
}

export function zendeskRateLimitHeaders(verdict: RateLimitVerdict): Record<string, string> {
  return {
    "X-Rate-Limit": String(verdict.limit),
    "X-Rate-Limit-Remaining": String(verdict.remaining),
    "ratelimit-limit": String(verdict.limit),
    "ratelimit-remaining": String(verdict.remaining),
    "ratelimit-reset": String(Math.max(1, Math.ceil(verdict.resetInMs / 1000))),
  };
}

type Direction = "asc" | "desc";

/**
 * Cursors are standard base64 (Zendesk's contain `+`, `/` and `=`): a client that does not
 * URL-encode them sends `+` as a space and gets 400. Byte 3 is a marker whose base64
 * character is always `+`, so every cursor exercises that.
 */
const CURSOR_VERSION = 1;
const CURSOR_MARKER = 0xfa;

function encodeCursor(position: FeedPosition, direction: Direction): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt8(CURSOR_VERSION, 0);
  bytes.writeUInt8(direction === "asc" ? 0 : 1, 1);
  bytes.writeUInt8(CURSOR_MARKER, 3);
  bytes.writeBigInt64BE(BigInt(position.timeUs), 4);
  bytes.writeUInt32BE(position.seq, 12);
  return bytes.toString("base64");
}

function decodeCursor(value: string, direction: Direction): FeedPosition | undefined {
  const bytes = Buffer.from(value, "base64");
  // Node's decoder skips characters outside the alphabet (a `+` turned into a space), so re-encode to be strict.
  if (bytes.length !== 16 || bytes.toString("base64") !== value) return undefined;
  if (bytes.readUInt8(0) !== CURSOR_VERSION || bytes.readUInt8(3) !== CURSOR_MARKER) return undefined;
  if (bytes.readUInt8(1) !== (direction === "asc" ? 0 : 1)) return undefined;
  return { timeUs: Number(bytes.readBigInt64BE(4)), seq: bytes.readUInt32BE(12) };
}

const INVALID_CREATED_AT =
  "Invalid filter[created_at] specified; format is ?filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ&filter[created_at][]=YYYY-MM-DDTHH:MM:SSZ";

/** Values of `filter[x]` and `filter[x][]` together (Rails reads both). */
function filterValues(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(`filter[${name}]`), ...query.getAll(`filter[${name}][]`)];
}

type Predicate = (record: ZendeskAuditLog) => boolean;

function parseFilters(query: URLSearchParams): Predicate | SimResponse {
  const predicates: Predicate[] = [];
  const actions = filterValues(query, "action");
  if (actions.length > 0) predicates.push((r) => actions.includes(r.action));
  const ips = filterValues(query, "ip_address");
  if (ips.length > 0) predicates.push((r) => r.ip_address !== null && ips.includes(r.ip_address));
  const sourceTypes = filterValues(query, "source_type");
  if (sourceTypes.length > 0) predicates.push((r) => sourceTypes.includes(r.source_type));
  for (const name of ["actor_id", "source_id"] as const) {
    const raw = filterValues(query, name);
    const ids = raw.map(parseStrictInt);
    if (ids.some((id) => id === undefined))
      return zendeskError(400, "InvalidValue", `Invalid filter[${name}] specified; it must be an integer`);
    if (name === "source_id" && raw.length > 0 && sourceTypes.length === 0) {
      return zendeskError(400, "InvalidValue", "filter[source_id] requires filter[source_type]");
    }
    if (ids.length > 0) predicates.push((r) => ids.includes(r[name]));
  }
  // Exactly two values, start then end. A bare `filter[created_at]` is a single value to Rails.
  const range = query.getAll("filter[created_at][]");
  if (query.has("filter[created_at]") || (query.has("filter[created_at][]") && range.length !== 2)) {
    return zendeskError(400, "InvalidValue", INVALID_CREATED_AT);
  }
  if (range.length === 2) {
    const [start, end] = range.map(parseIsoLenientUs);
    if (start === undefined || end === undefined) return zendeskError(400, "InvalidValue", INVALID_CREATED_AT);
    // UNCONFIRMED: whether the bounds are inclusive. We include both, the reading Grove relies on.
    predicates.push((r) => {
      const t = parseRfc3339Us(r.created_at) ?? 0;
      return t >= start && t <= end;
    });
  }
  return (r) => predicates.every((p) => p(r));
}

function listLink(
  runtime: ProviderRuntime<"zendesk">,
  query: URLSearchParams,
  replacements: [string, string][],
): string {
  const replaced = new Set(replacements.map(([key]) => key));
  const dropped = new Set([...replaced, "page[after]", "page[before]"]);
  const pairs = [...query.entries()].filter(([key]) => !dropped.has(key));
  const serialized = [...pairs, ...replacements].map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join("&");
  return `${runtime.baseUrl}/api/v2/audit_logs.json?${serialized}`;
}

function cursorPage(request: SimRequest, runtime: ProviderRuntime<"zendesk">, matches: Predicate): SimResponse {
  const { query } = request;
  const size = parseStrictInt(query.get("page[size]") ?? "");
  // UNCONFIRMED: some Zendesk endpoints clamp an oversized page; we refuse it, as strict endpoints do.
  if (size === undefined || size < 1 || size > MAX_PAGE_SIZE) {
    return jsonResponse(400, {
      error: {
        title: "Invalid attribute",
        message: `You passed an invalid value for the page.size attribute. Invalid parameter: page.size must be an integer from 1 to ${MAX_PAGE_SIZE} from api/v2/audit_logs/index`,
      },
    });
  }
  const sort = query.get("sort") ?? "-created_at";
  // UNCONFIRMED: only created_at is documented as sortable; other values are refused.
  if (sort !== "created_at" && sort !== "-created_at")
    return zendeskError(400, "InvalidValue", `Invalid sort specified: ${sort}`);
  const direction: Direction = sort === "created_at" ? "asc" : "desc";
  const afterValue = query.get("page[after]");
  const beforeValue = query.get("page[before]");
  if (afterValue !== null && beforeValue !== null) {
    return zendeskError(400, "InvalidPaginationParameter", "page[after] and page[before] cannot be used together");
  }
  const compare = direction === "asc" ? compareAscending : compareDescending;
  const feed: StoredEntry<ZendeskAuditLog>[] = (
    direction === "asc" ? [...runtime.store.ascending()] : runtime.store.descending()
  ).filter((e) => matches(e.record));

  let page: StoredEntry<ZendeskAuditLog>[];
  let hasMore: boolean;
  const cursorValue = afterValue ?? beforeValue;
  if (cursorValue !== null) {
    const position = decodeCursor(cursorValue, direction);
    if (!position)
      return zendeskError(
        400,
        "InvalidPaginationParameter",
        `page[${afterValue !== null ? "after" : "before"}] is not a valid cursor`,
      );
    if (afterValue !== null) {
      const start = feed.findIndex((e) => compare(e, position) > 0);
      const from = start < 0 ? feed.length : start;
      page = feed.slice(from, from + size);
      hasMore = from + size < feed.length;
    } else {
      const firstNotBefore = feed.findIndex((e) => compare(e, position) >= 0);
      const end = firstNotBefore < 0 ? feed.length : firstNotBefore;
      page = feed.slice(Math.max(0, end - size), end);
      hasMore = end - size > 0;
    }
  } else {
    page = feed.slice(0, size);
    hasMore = size < feed.length;
  }

  const first = page[0];
  const last = page.at(-1);
  const afterCursor = last ? encodeCursor(last, direction) : null;
  const beforeCursor = first ? encodeCursor(first, direction) : null;
  const sizeParam: [string, string] = ["page[size]", String(size)];
  // Links are given whenever the page has records; `meta.has_more` says whether to follow them.
  return jsonResponse(200, {
    audit_logs: page.map((e) => e.record),
    meta: { has_more: hasMore, after_cursor: afterCursor, before_cursor: beforeCursor },
    links: {
      prev: beforeCursor === null ? null : listLink(runtime, query, [sizeParam, ["page[before]", beforeCursor]]),
      next: afterCursor === null ? null : listLink(runtime, query, [sizeParam, ["page[after]", afterCursor]]),
    },
  });
}

/**
 * Without `page[size]` Zendesk silently falls back to offset pagination (UNCONFIRMED for this
 * endpoint specifically; it is the standard Zendesk list shape).
 */
function offsetPage(request: SimRequest, runtime: ProviderRuntime<"zendesk">, matches: Predicate): SimResponse {
  const { query } = request;
  const page = Math.max(1, parseStrictInt(query.get("page") ?? "") ?? 1);
  const perPage = Math.min(
    MAX_PAGE_SIZE,
    Math.max(1, parseStrictInt(query.get("per_page") ?? "") ?? OFFSET_DEFAULT_PER_PAGE),
  );
  if (page * perPage > OFFSET_MAX_RECORDS) {
    return jsonResponse(400, {
      errors: [
        {
          code: "InvalidPaginationDepth",
          title:
            "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records (page * per_page)",
          detail:
            "There are limits to the page depth in Offset Pagination. Offset Pagination will be deprecated fully in the near future.\nPlease switch to Cursor Pagination at the earliest. Cursor Pagination does not have any limits.",
        },
      ],
    });
  }
  const sortBy = query.get("sort_by") ?? "created_at";
  if (sortBy !== "created_at") return zendeskError(400, "InvalidValue", `Invalid sort_by specified: ${sortBy}`);
  const sortOrder = query.get("sort_order") ?? "desc";
  if (sortOrder !== "asc" && sortOrder !== "desc")
    return zendeskError(400, "InvalidValue", `Invalid sort_order specified: ${sortOrder}`);
  const feed = (sortOrder === "asc" ? [...runtime.store.ascending()] : runtime.store.descending()).filter((e) =>
    matches(e.record),
  );
  const start = (page - 1) * perPage;
  const link = (n: number) =>
    listLink(runtime, query, [
      ["page", String(n)],
      ["per_page", String(perPage)],
    ]);
  return jsonResponse(200, {
    audit_logs: feed.slice(start, start + perPage).map((e) => e.record),
    next_page: start + perPage < feed.length ? link(page + 1) : null,
    previous_page: page > 1 ? link(page - 1) : null,
    count: feed.length,
  });
}

const ACCOUNT_WIDE = { requests: 700, perMs: 60_000 };

const listAuditLogs: ProviderRoute<"zendesk"> = {
  method: "GET",
  path: /^\/api\/v2\/audit_logs(?:\.json)?\/?$/,
  // Zendesk's limit is account-wide, shared by every endpoint: one bucket for all routes.
  endpoint: "account",
  // UNCONFIRMED exact figure: the Enterprise plan's 700 requests per minute.
  rateLimit: ACCOUNT_WIDE,
  handle(request, { runtime }) {
    const matches = parseFilters(request.query);
    if (typeof matches !== "function") return matches;
    return request.query.has("page[size]")
      ? cursorPage(request, runtime, matches)
      : offsetPage(request, runtime, matches);
  },
};

const showAuditLog: ProviderRoute<"zendesk"> = {
  method: "GET",
  path: /^\/api\/v2\/audit_logs\/(\d+)(?:\.json)?\/?$/,
  endpoint: "account",
  rateLimit: ACCOUNT_WIDE,
  handle(_request, { runtime, params }) {
    const entry = runtime.store.get(params[0] ?? "");
    return entry ? jsonResponse(200, { audit_log: entry.record }) : zendeskError(404, "RecordNotFound", "Not found");
  },
};

export const zendeskRoutes: readonly ProviderRoute<"zendesk">[] = [listAuditLogs, showAuditLog];
