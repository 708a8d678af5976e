import { ConnectorError } from "@vigil/core";
import type { BloodhoundSourceConfig } from "./bloodhound.config.js";
import type { Connector, ConnectorDeps } from "../../kit/connector.js";
import {
  MALFORMED_PAGE_READS,
  PROVIDER_RETRY_POLICY,
  fetchPage,
  providerRateLimit,
  sameRefusals,
  splitRecords,
} from "../../kit/provider-http.js";
import { type TimeWindow, type WindowBatch, windowedConnector } from "../../kit/windowed-pull.js";
import { normalizeBloodHoundRecord } from "./bloodhound.normalize.js";
import { BloodHoundAuditLogSchema, BloodHoundAuditPageSchema, type BloodHoundRecord } from "./bloodhound.records.js";
import { bloodHoundSigner } from "./bloodhound.signature.js";

const AUDIT_PATH = "/api/v2/audit";
const DAY_MS = 86_400_000;
/** The server's own default `limit`; it sets no upper bound. */
export const BLOODHOUND_DEFAULT_PAGE_SIZE = 1000;
/** tollbooth's limit: 55 requests a second per client address. */
export const BLOODHOUND_DEFAULT_RATE_LIMIT = { requests: 55, perMs: 1_000 };
/** No window limit is documented: a year is our cap (windows narrow to the density seen; busy ones keep offsets shallow). */
const BLOODHOUND_MAX_WINDOW_MS = 365 * DAY_MS;
/** The first window, before the density is known: a week, so a busy server's offsets stay shallow. */
const BLOODHOUND_FIRST_WINDOW_MS = 7 * DAY_MS;
/**
 * Rows a window holds at most (the source's `windowRecords` overrides it): 20 pages of 1,000.
 * Every window ends in a partly filled page and pages are large here, so windows of some 15
 * pages rather than 4 keep that overhead near 7% of the requests; 20,000 rows are about 20 MiB
 * of events, and 20 pages take under a second at the documented 55 requests a second.
 */
export const BLOODHOUND_WINDOW_RECORDS = 20_000;
/** Full pages in a row that bring no new row before the server is deemed to ignore the offset. */
const MAX_STALLED_PAGES = 3;

/**
 * BloodHound (CE / Enterprise) audit log: `GET /api/v2/audit`, signed with an API token
 * (`bhesignature` HMAC chain) or a session JWT. The server always answers newest first, with
 * both window bounds inclusive, so each window `[after, before]` is read whole by offset
 * (`offset` and its documented alias `skip`, same value) with a fixed `before` in the pull's
 * past: rows written meanwhile can only shift offsets towards re-reads, which are dropped by id.
 */
export function createBloodhoundConnector(config: BloodhoundSourceConfig, deps: ConnectorDeps): Connector {
  const source = config.name;
  const baseUrl = config.baseUrl;
  const auth = config.auth;
  const client = deps.createHttpClient({
    source,
    baseUrl,
    timeoutMs: config.timeout,
    maxResponseBytes: config.maxResponseMiB * 2 ** 20,
    retry: PROVIDER_RETRY_POLICY,
    // BloodHound sends no Retry-After (tollbooth only announces its rate): a 429 backs off exponentially.
    retryAfterHeaders: ["retry-after"],
    ...("jwt" in auth
      ? { headers: { authorization: `Bearer ${auth.jwt}` } }
      : { sign: bloodHoundSigner(auth), secrets: [auth.tokenKey] }),
    rateLimit: {
      ...providerRateLimit(config.rateLimit, BLOODHOUND_DEFAULT_RATE_LIMIT),
      // tollbooth counts per client address, not per credential: every source on this instance shares one budget.
      credentialId: `bloodhound:${baseUrl}`,
    },
  });
  const pageSize = config.pageSize ?? BLOODHOUND_DEFAULT_PAGE_SIZE;

  /** One page of the window, validated as a page (its rows are validated by the caller). */
  function requestPage(after: string, before: string, offset: number, signal: AbortSignal) {
    const page = `GET ${AUDIT_PATH} after=${after} before=${before} offset=${offset} limit=${pageSize}`;
    // `-id` orders rows of equal created_at, so offsets are stable between requests.
    const query = { after, before, sort_by: "-id", limit: pageSize, offset, skip: offset };
    const body = fetchPage(client, page, { path: AUDIT_PATH, query, signal }, BloodHoundAuditPageSchema);
    return { page, offset, body };
  }

  async function* fetchWindow(window: TimeWindow, signal: AbortSignal): AsyncGenerator<WindowBatch<BloodHoundRecord>> {
    const after = window.start.toISOString();
    const before = window.end.toISOString();
    const seen = new Set<number>();
    let stalled = 0;
    // The next page is asked for as soon as this one's length is known, before its rows are
    // validated and handed on, so one request is always in flight while a page is processed.
    const controller = new AbortController();
    const forward = () => controller.abort(signal.reason);
    signal.addEventListener("abort", forward, { once: true });
    let pending: ReturnType<typeof requestPage> | undefined = requestPage(after, before, 0, controller.signal);
    try {
      while (pending) {
        const { page, offset } = pending;
        const body = await pending.body;
        pending = undefined;
        if (body.skip !== undefined && body.skip !== offset) {
          throw new ConnectorError(
            source,
            `${page}: the server answered for skip=${body.skip}, so it does not page by offset as expected`,
            { retryable: false, page },
          );
        }
        const rows = body.data.logs;
        const servedLimit = body.limit !== undefined && body.limit > 0 ? Math.min(body.limit, pageSize) : pageSize;
        const full = rows.length > 0 && rows.length >= servedLimit;
        // Whether this page brings a new row, read from the ids as received: when the rows are
        // valid it is what the validated ids say, and when they are not the page fails anyway.
        const stalledAfter = full
          ? rows.some((row) => !seen.has((row as { id?: unknown }).id as number))
            ? 0
            : stalled + 1
          : stalled;
        if (full && stalledAfter < MAX_STALLED_PAGES) {
          pending = requestPage(after, before, offset + rows.length, controller.signal);
          // Observed on the next turn; until then a failure must not count as unhandled.
          pending.body.catch(() => undefined);
        }
        let split = splitRecords(source, page, BloodHoundAuditLogSchema, rows, "data.logs");
        // Malformed rows are read again with their page: only rows malformed the same way twice in a row are refused.
        for (let reads = 1; split.refused.length > 0; reads++) {
          if (reads >= MALFORMED_PAGE_READS)
            throw new ConnectorError(
              source,
              `${page}: malformed records differ from one read to the next (${split.refused[0]?.reason}); the next pull reads the page again`,
              { retryable: true, page },
            );
          const again = await requestPage(after, before, offset, controller.signal).body;
          const next = splitRecords(source, page, BloodHoundAuditLogSchema, again.data.logs, "data.logs");
          const same = sameRefusals(split.refused, next.refused);
          split = next;
          if (same) break;
        }
        const fresh: BloodHoundRecord[] = [];
        for (const { value: log, raw } of split.records) {
          if (seen.has(log.id)) continue;
          seen.add(log.id);
          fresh.push({ log, raw });
        }
        stalled = stalledAfter;
        if (stalled >= MAX_STALLED_PAGES) {
          throw new ConnectorError(
            source,
            `${page}: ${stalled} full pages in a row held no new row; the server seems to ignore the offset`,
            { retryable: false, page },
          );
        }
        if (fresh.length > 0 || split.refused.length > 0) yield { records: fresh, refused: split.refused };
      }
    } finally {
      signal.removeEventListener("abort", forward);
      if (pending) {
        // Left early (an error, or the pull split the window): the request in flight is not needed.
        controller.abort(new Error("window fetch stopped"));
        await pending.body.catch(() => undefined);
      }
    }
  }

  return windowedConnector<BloodHoundRecord>(
    "bloodhound",
    {
      source,
      maxWindowMs: BLOODHOUND_MAX_WINDOW_MS,
      firstWindowMs: BLOODHOUND_FIRST_WINDOW_MS,
      fetchWindow,
      // Microseconds are truncated to the millisecond, consistently with the inclusive bounds sent in milliseconds.
      filterTimeMs: (record) => Date.parse(record.log.created_at),
      normalize: (record) => normalizeBloodHoundRecord(source, record),
      received: (record) => record.raw,
    },
    config,
    async (options) => {
      const page = `GET ${AUDIT_PATH} limit=1`;
      await fetchPage(
        client,
        page,
        { path: AUDIT_PATH, query: { limit: 1 }, ...(options?.signal ? { signal: options.signal } : {}) },
        BloodHoundAuditPageSchema,
      );
    },
    { windowRecords: BLOODHOUND_WINDOW_RECORDS },
  );
}
