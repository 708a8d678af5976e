import type { Connector, ConnectorDeps } from "../../kit/connector.js";
import type { LogfireSourceConfig } from "./logfire.config.js";
import {
  PROVIDER_RETRY_POLICY,
  credentialFingerprint,
  fetchPage,
  providerRateLimit,
  readWholePage,
  splitRecords,
} from "../../kit/provider-http.js";
import { type TimeWindow, type WindowBatch, type WindowBudget, windowedConnector } from "../../kit/windowed-pull.js";
import { normalizeLogfireRecord } from "./logfire.normalize.js";
import { LogfireAuditLogListSchema, LogfireAuditLogSchema, type LogfireRecord } from "./logfire.records.js";

/** The Platform API's regional bases (PROVIDERS.md 4.1); `baseUrl` overrides them (self-hosted). */
export const LOGFIRE_BASE_URLS = {
  us: "https://api-us.pydantic.dev/api",
  eu: "https://api-eu.pydantic.dev/api",
} as const;

const LIST_PATH = "/v1/audit-logs/";
const DAY_MS = 86_400_000;
/**
 * The API's limit: a query may span 90 days (more is a 400). Queries are widened to whole seconds
 * (up to 2 s), so a window spans at most 90 days less 2 s.
 */
export const LOGFIRE_MAX_WINDOW_MS = 90 * DAY_MS - 2_000;
/**
 * The API answers each window whole, unpaged, so the first window, sized before the density is
 * known, is one hour: a busy organization's answer stays small (a day of 30,000 entries is over
 * 32 MiB). Later windows are sized from the density seen to hold at most `windowRecords` (a quiet
 * organization's backfill takes 90-day windows from the second on); an answer over
 * `maxResponseMiB` splits its window.
 */
const LOGFIRE_FIRST_WINDOW_MS = 3_600_000;
/** A generous size of one entry as served (they are about 300–500 bytes of JSON), for a window's byte budget. */
const LOGFIRE_RECORD_BYTES = 1_024;
/** Logfire documents no limit for this API (UNCONFIRMED); one request a second is far more than a pull needs. */
export const LOGFIRE_DEFAULT_RATE_LIMIT = { requests: 60, perMs: 60_000 };

/** `YYYY-MM-DDTHH:MM:SSZ`, the documented query format (whole seconds). */
function querySeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Pydantic Logfire audit logs: `GET /v1/audit-logs/?start_time&end_time` with an organization
 * API key as bearer token. No pagination: each window (sized from the density seen, at most the 90 days the API allows) comes back whole, as one
 * bare array, newest first; `windowedPull` orders it and moves the `{until}` checkpoint.
 */
export function createLogfireConnector(config: LogfireSourceConfig, deps: ConnectorDeps): Connector {
  const source = config.name;
  const baseUrl = config.baseUrl ?? LOGFIRE_BASE_URLS[config.region];
  const client = deps.createHttpClient({
    source,
    baseUrl,
    headers: { authorization: `Bearer ${config.auth.token}` },
    timeoutMs: config.timeout,
    maxResponseBytes: config.maxResponseMiB * 2 ** 20,
    retry: PROVIDER_RETRY_POLICY,
    retryAfterHeaders: ["retry-after"],
    rateLimit: {
      ...providerRateLimit(config.rateLimit, LOGFIRE_DEFAULT_RATE_LIMIT),
      credentialId: `logfire:${baseUrl}:${credentialFingerprint(config.auth.token)}`,
    },
  });
  if (config.pageSize !== undefined) {
    deps.logger.warn(
      { source, pageSize: config.pageSize },
      "pageSize has no effect on a Logfire source: the API returns each window whole",
    );
  }

  /**
   * Start inclusive, end exclusive, in whole seconds: the start is rounded down and the end up,
   * so the query covers the window; what lies outside it is dropped by windowedPull.
   */
  async function listWindow(
    startMs: number,
    endMs: number,
    signal: AbortSignal | undefined,
    maxResponseBytes?: number,
  ): Promise<WindowBatch<LogfireRecord>> {
    const query = {
      start_time: querySeconds(Math.floor(startMs / 1000) * 1000),
      end_time: querySeconds(Math.ceil(endMs / 1000) * 1000),
    };
    const page = `GET ${LIST_PATH} start_time=${query.start_time} end_time=${query.end_time}`;
    return readWholePage(source, page, async () => {
      const rows = await fetchPage(
        client,
        page,
        { path: LIST_PATH, query, ...(signal ? { signal } : {}), ...(maxResponseBytes ? { maxResponseBytes } : {}) },
        LogfireAuditLogListSchema,
      );
      const { records, refused } = splitRecords(source, page, LogfireAuditLogSchema, rows, "");
      return { records: records.map(({ value, raw }): LogfireRecord => ({ log: value, raw })), refused };
    });
  }

  async function* fetchWindow(
    window: TimeWindow,
    signal: AbortSignal,
    budget?: WindowBudget,
  ): AsyncGenerator<WindowBatch<LogfireRecord>> {
    // Twice the window's records at a generous size each: a window far denser than its budget
    // stops being read at a few MiB and is split, whatever the organization's density.
    const maxResponseBytes = budget ? 2 * budget.records * LOGFIRE_RECORD_BYTES : undefined;
    const { records, refused } = await listWindow(
      window.start.getTime(),
      window.end.getTime(),
      signal,
      maxResponseBytes,
    );
    // Entries are immutable and the window is served whole; an id served twice is still one event.
    const unique = new Map(records.map((record) => [record.log.id, record]));
    yield { records: [...unique.values()], refused };
  }

  return windowedConnector<LogfireRecord>(
    "logfire",
    {
      source,
      maxWindowMs: LOGFIRE_MAX_WINDOW_MS,
      firstWindowMs: LOGFIRE_FIRST_WINDOW_MS,
      fetchWindow,
      filterTimeMs: (record) => Date.parse(record.log.created_at),
      normalize: (record) => normalizeLogfireRecord(source, record),
      received: (record) => record.raw,
    },
    config,
    async (options) => {
      const now = Date.now();
      await listWindow(now - 60_000, now, options?.signal);
    },
  );
}
