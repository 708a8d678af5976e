import type { ZendeskSourceConfig } from "./zendesk.config.js";
import type { Connector, ConnectorDeps } from "../../kit/connector.js";
import {
  PROVIDER_RETRY_POLICY,
  fetchPage,
  providerRateLimit,
  readWholePage,
  splitRecords,
} from "../../kit/provider-http.js";
import { followCursor } from "../../kit/paging.js";
import { type TimeWindow, type WindowBatch, windowedConnector } from "../../kit/windowed-pull.js";
import { normalizeZendeskRecord } from "./zendesk.normalize.js";
import { ZendeskAuditLogPageSchema, ZendeskAuditLogSchema, type ZendeskRecord } from "./zendesk.records.js";

const LIST_PATH = "/api/v2/audit_logs";
/** Cursor pagination's `page[size]` is at most 100 here. */
export const ZENDESK_MAX_PAGE_SIZE = 100;
/**
 * Account-wide, shared by every endpoint and integration: 700 a minute on Enterprise, the plan
 * audit logs need (UNCONFIRMED exact figure; set `rateLimit` for Enterprise Plus or a shared budget).
 */
export const ZENDESK_DEFAULT_RATE_LIMIT = { requests: 700, perMs: 60_000 };
/**
 * Zendesk keeps audit logs forever and sets no window limit: a year is our cap. Listed oldest
 * first, a window is never held, so its span costs no memory.
 */
const ZENDESK_MAX_WINDOW_MS = 365 * 86_400_000;

/** `YYYY-MM-DDTHH:MM:SSZ`, the format Zendesk's error message gives for `filter[created_at]`. */
function querySeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Zendesk Support audit logs: `GET /api/v2/audit_logs` with cursor pagination (`page[size]`,
 * `page[after]`; never offset pagination, which stops at 10,000 records), oldest first
 * (`sort=created_at`), one `filter[created_at][]` range per window. `windowedPull` hands each
 * page on as it arrives and moves the `{until}` checkpoint with it.
 */
export function createZendeskConnector(config: ZendeskSourceConfig, deps: ConnectorDeps): Connector {
  const source = config.name;
  const baseUrl = config.baseUrl;
  const pageSize = Math.min(config.pageSize ?? ZENDESK_MAX_PAGE_SIZE, ZENDESK_MAX_PAGE_SIZE);
  const authorization =
    "oauthToken" in config.auth
      ? `Bearer ${config.auth.oauthToken}`
      : `Basic ${Buffer.from(`${config.auth.email}/token:${config.auth.token}`).toString("base64")}`;
  const client = deps.createHttpClient({
    source,
    baseUrl,
    headers: { authorization },
    timeoutMs: config.timeout,
    maxResponseBytes: config.maxResponseMiB * 2 ** 20,
    retry: PROVIDER_RETRY_POLICY,
    retryAfterHeaders: ["retry-after"],
    rateLimit: {
      ...providerRateLimit(config.rateLimit, ZENDESK_DEFAULT_RATE_LIMIT),
      // The budget is the account's, whichever credential spends it: keyed by the account's host.
      credentialId: `zendesk:${new URL(baseUrl).origin}`,
    },
  });

  async function listPage(
    query: Record<string, string | number | readonly string[] | undefined>,
    page: string,
    signal: AbortSignal | undefined,
  ) {
    return readWholePage(source, page, async () => {
      const body = await fetchPage(
        client,
        page,
        { path: LIST_PATH, query, ...(signal ? { signal } : {}) },
        ZendeskAuditLogPageSchema,
      );
      const { records, refused } = splitRecords(source, page, ZendeskAuditLogSchema, body.audit_logs, "audit_logs");
      return {
        records: records.map(({ value, raw }): ZendeskRecord => ({ log: value, raw })),
        refused,
        meta: body.meta,
      };
    });
  }

  /**
   * Whether Zendesk's bounds are inclusive is UNCONFIRMED, so the range asked for reaches a
   * second past the window on both sides; windowedPull drops what lies outside it.
   */
  async function* fetchWindow(window: TimeWindow, signal: AbortSignal): AsyncGenerator<WindowBatch<ZendeskRecord>> {
    const range = [
      querySeconds(Math.floor(window.start.getTime() / 1000) * 1000 - 1000),
      querySeconds(Math.ceil(window.end.getTime() / 1000) * 1000 + 1000),
    ];
    yield* followCursor<ZendeskRecord>({
      source,
      label: (after) =>
        `GET ${LIST_PATH} created_at=[${range[0]}, ${range[1]}] ${after === undefined ? "(first page)" : `page[after]=${after}`}`,
      fetch: async (after, label) => {
        const { records, refused, meta } = await listPage(
          { "page[size]": pageSize, sort: "created_at", "filter[created_at][]": range, "page[after]": after },
          label,
          signal,
        );
        return { records, refused, more: meta.has_more, next: meta.after_cursor ?? undefined };
      },
      idOf: (record) => record.log.id,
      stuck: "meta.has_more is true but there is no new after_cursor",
    });
  }

  return windowedConnector<ZendeskRecord>(
    "zendesk",
    {
      source,
      maxWindowMs: ZENDESK_MAX_WINDOW_MS,
      oldestFirst: true,
      fetchWindow,
      filterTimeMs: (record) => Date.parse(record.log.created_at),
      normalize: (record) => normalizeZendeskRecord(source, record),
      received: (record) => record.raw,
    },
    config,
    async (options) => {
      await listPage({ "page[size]": 1 }, `GET ${LIST_PATH} page[size]=1`, options?.signal);
    },
  );
}
