import { ConnectorError } from "@vigil/core";
import type { AshbySourceConfig } from "./ashby.config.js";
import type { Connector, ConnectorDeps } from "../../kit/connector.js";
import {
  PROVIDER_RETRY_POLICY,
  credentialFingerprint,
  fetchPage,
  providerRateLimit,
  readWholePage,
  splitRecords,
} from "../../kit/provider-http.js";
import { followCursor } from "../../kit/paging.js";
import { type TimeWindow, type WindowBatch, windowedConnector } from "../../kit/windowed-pull.js";
import { normalizeAshbyRecord } from "./ashby.normalize.js";
import { AshbyAuditLogEntrySchema, AshbyListResponseSchema, type AshbyRecord } from "./ashby.records.js";

export const ASHBY_BASE_URL = "https://api.ashbyhq.com";
const LIST_PATH = "/auditLog.list";
/** `limit`: "the maximum and default value is 100". */
export const ASHBY_MAX_PAGE_SIZE = 100;
/** Ashby limits each API key but publishes no figure (UNCONFIRMED); two requests a second is modest. */
export const ASHBY_DEFAULT_RATE_LIMIT = { requests: 120, perMs: 60_000 };
/** Explicit windows may span at most 18 months; 540 days (plus the 2 s margin) is inside any 18 months. */
export const ASHBY_MAX_WINDOW_MS = 540 * 86_400_000;
/**
 * Records a window holds at most (the source's `windowRecords` overrides it): ten pages, five
 * seconds at the default two requests a second, so a restart loses little and even restarts every
 * ten seconds move the checkpoint. Each window's last, partly filled page costs about 5% more requests.
 */
export const ASHBY_WINDOW_RECORDS = 1_000;
/** Failures that a later pull, starting its windows afresh, gets past. */
const TRANSIENT_CODES = new Set(["next_cursor_expired", "invalid_next_cursor", "cursor_invalid"]);

interface ListBody {
  startDate?: string;
  endDate?: string;
  limit: number;
  cursor?: string;
}

/**
 * Ashby audit logs: `POST /auditLog.list` (RPC, JSON body) with the API key as the Basic user
 * name, newest first. Every query names both `startDate` and `endDate` (one bound alone means
 * 24 hours) and follows `nextCursor` with the very same parameters, as the cursor is bound to
 * them. `windowedPull` splits long spans under the 18-month cap and moves the `{until}` checkpoint.
 */
export function createAshbyConnector(config: AshbySourceConfig, deps: ConnectorDeps): Connector {
  const source = config.name;
  const baseUrl = config.baseUrl ?? ASHBY_BASE_URL;
  const pageSize = Math.min(config.pageSize ?? ASHBY_MAX_PAGE_SIZE, ASHBY_MAX_PAGE_SIZE);
  const client = deps.createHttpClient({
    source,
    baseUrl,
    headers: { authorization: `Basic ${Buffer.from(`${config.auth.apiKey}:`).toString("base64")}` },
    timeoutMs: config.timeout,
    maxResponseBytes: config.maxResponseMiB * 2 ** 20,
    retry: PROVIDER_RETRY_POLICY,
    retryAfterHeaders: ["retry-after"],
    rateLimit: {
      ...providerRateLimit(config.rateLimit, ASHBY_DEFAULT_RATE_LIMIT),
      credentialId: `ashby:${baseUrl}:${credentialFingerprint(config.auth.apiKey)}`,
    },
  });

  function listPage(body: ListBody, page: string, signal: AbortSignal | undefined) {
    return readWholePage(source, page, () => listPageOnce(body, page, signal));
  }

  async function listPageOnce(body: ListBody, page: string, signal: AbortSignal | undefined) {
    const response = await fetchPage(
      client,
      page,
      { method: "POST", path: LIST_PATH, body, ...(signal ? { signal } : {}) },
      AshbyListResponseSchema,
    );
    if (!response.success) {
      const code = response.errorInfo?.code ?? response.errors?.[0] ?? "unknown_error";
      const message = response.errorInfo?.message ?? response.errors?.join(", ") ?? "";
      const requestId = response.errorInfo?.requestId ? ` (request id ${response.errorInfo.requestId})` : "";
      throw new ConnectorError(
        source,
        `${page}: Ashby answered success: false, ${code}${message && message !== code ? `: ${message}` : ""}${requestId}`,
        {
          retryable: TRANSIENT_CODES.has(code),
          page,
        },
      );
    }
    const { records, refused } = splitRecords(source, page, AshbyAuditLogEntrySchema, response.results, "results");
    return {
      records: records.map(({ value, raw }): AshbyRecord => ({ entry: value, raw })),
      refused,
      moreDataAvailable: response.moreDataAvailable,
      nextCursor: response.nextCursor ?? undefined,
    };
  }

  /**
   * Bounds are UNCONFIRMED (the simulator takes start inclusive, end exclusive), so the span
   * asked for reaches a second past the window on both sides; windowedPull drops the excess.
   */
  async function* fetchWindow(window: TimeWindow, signal: AbortSignal): AsyncGenerator<WindowBatch<AshbyRecord>> {
    const startDate = new Date(window.start.getTime() - 1000).toISOString();
    const endDate = new Date(window.end.getTime() + 1000).toISOString();
    yield* followCursor<AshbyRecord>({
      source,
      label: (cursor) =>
        `POST ${LIST_PATH} window=[${startDate}, ${endDate}) ${cursor === undefined ? "(first page)" : `cursor=${cursor}`}`,
      fetch: async (cursor, label) => {
        const { records, refused, moreDataAvailable, nextCursor } = await listPage(
          { startDate, endDate, limit: pageSize, ...(cursor === undefined ? {} : { cursor }) },
          label,
          signal,
        );
        return { records, refused, more: moreDataAvailable, next: nextCursor };
      },
      idOf: (record) => record.entry.id,
      stuck: "moreDataAvailable is true but there is no new nextCursor",
    });
  }

  return windowedConnector<AshbyRecord>(
    "ashby",
    {
      source,
      maxWindowMs: ASHBY_MAX_WINDOW_MS,
      fetchWindow,
      filterTimeMs: (record) => Date.parse(record.entry.createdAt),
      normalize: (record) => normalizeAshbyRecord(source, record),
      received: (record) => record.raw,
    },
    config,
    async (options) => {
      // No dates: the last 24 hours, one entry at most.
      await listPage({ limit: 1 }, `POST ${LIST_PATH} limit=1`, options?.signal);
    },
    { windowRecords: ASHBY_WINDOW_RECORDS },
  );
}
