import { ConnectorError, formatZodError, recordText, type AuditEvent } from "@vigil/core";
import type { PylonSourceConfig } from "./pylon.config.js";
import { z } from "zod";
import type {
  Checkpoint,
  Connector,
  ConnectorDeps,
  PullOptions,
  PullProgress,
  RefusedRecord,
  SourcePage,
} from "../../kit/connector.js";
import {
  PROVIDER_RETRY_POLICY,
  credentialFingerprint,
  fetchPage,
  readWholePage,
  splitRecords,
  providerRateLimit,
} from "../../kit/provider-http.js";
import { timeOrderedPages, type TimedEvent } from "../../kit/paging.js";
import { normalizePylonRecord } from "./pylon.normalize.js";
import { PylonAuditLogPageSchema, PylonAuditLogSchema, type PylonRecord } from "./pylon.records.js";

export const PYLON_BASE_URL = "https://api.usepylon.com";
const LIST_PATH = "/audit-logs";
/** "Must be greater than 0 and less than 1000." */
export const PYLON_MAX_PAGE_SIZE = 999;
/** `GET /audit-logs`: 60 requests a minute, per organization (every token of the org shares it). */
export const PYLON_DEFAULT_RATE_LIMIT = { requests: 60, perMs: 60_000 };

/**
 * Records held and sorted before they are queued and the cursor checkpointed (the source's
 * `windowRecords` overrides it): two pages of 999, two seconds at the documented 60 requests a
 * minute, so a restart re-reads at most two pages. Records are put in action-time order within
 * such a run only (action and insert times differ by seconds).
 */
export const PYLON_WINDOW_RECORDS = 2_000;

/**
 * Where a Pylon pull resumes: the opaque cursor after the last record queued, as Pylon's SIEM
 * guide advises; `notBefore` only until the API has handed out a cursor (an empty first run).
 */
export const PylonCheckpointSchema = z.union([
  z.strictObject({ cursor: z.string().min(1) }),
  z.strictObject({ notBefore: z.iso.datetime({ offset: true }) }),
]);
export type PylonCheckpoint = z.infer<typeof PylonCheckpointSchema>;

export interface PylonConnectorOptions {
  /**
   * Records held to be put in time order before they are yielded and the cursor checkpointed
   * (the source's `windowRecords` overrides it); past this they are yielded at once (bounded
   * memory; a restart re-reads at most this many).
   */
  windowRecords?: number;
  /** Events per yielded page. */
  pageEvents?: number;
}

/**
 * Pylon audit logs: `GET /audit-logs?cursor&limit` with a bearer token, following
 * `pagination.cursor` while `has_next_page`, and keeping the last cursor as the checkpoint, so
 * each run reads exactly what was written since (no time filter exists on this endpoint; the
 * search endpoint has one but a sixth of the budget). The feed is in insert order while
 * `time` is the action time, so a run's records are sorted before they are yielded.
 */
export function createPylonConnector(
  config: PylonSourceConfig,
  deps: ConnectorDeps,
  options: PylonConnectorOptions = {},
): Connector {
  const source = config.name;
  const baseUrl = config.baseUrl ?? PYLON_BASE_URL;
  const pageSize = Math.min(config.pageSize ?? PYLON_MAX_PAGE_SIZE, PYLON_MAX_PAGE_SIZE);
  const maxBuffered = config.windowRecords ?? options.windowRecords ?? PYLON_WINDOW_RECORDS;
  const pageEvents = options.pageEvents ?? 500;
  const client = deps.createHttpClient({
    source,
    baseUrl,
    headers: { authorization: `Bearer ${config.auth.token}` },
    timeoutMs: config.timeout,
    maxResponseBytes: config.maxResponseMiB * 2 ** 20,
    retry: PROVIDER_RETRY_POLICY,
    // Pylon's own header; a standard one is honoured too should it ever be sent.
    retryAfterHeaders: ["x-retry-after", "retry-after"],
    rateLimit: {
      ...providerRateLimit(config.rateLimit, PYLON_DEFAULT_RATE_LIMIT),
      credentialId: `pylon:${baseUrl}:${credentialFingerprint(config.auth.token)}`,
    },
  });

  async function listPage(cursor: string | undefined, limit: number, signal: AbortSignal | undefined) {
    const page = `GET ${LIST_PATH} ${cursor === undefined ? "(first page)" : `cursor=${cursor}`}`;
    return readWholePage(source, page, async () => {
      const body = await fetchPage(
        client,
        page,
        { path: LIST_PATH, query: { cursor, limit }, ...(signal ? { signal } : {}) },
        PylonAuditLogPageSchema,
      );
      const { records, refused } = splitRecords(source, page, PylonAuditLogSchema, body.data, "data");
      return {
        page,
        records: records.map(({ value, raw }): PylonRecord => ({ log: value, raw })),
        refused,
        pagination: body.pagination,
      };
    });
  }

  /** Where to start: the stored cursor, or the feed's beginning with a lower bound on action time. */
  function startingPoint(
    from: Checkpoint | undefined,
    { now, since }: PullOptions,
  ): { cursor?: string; notBeforeMs?: number; beforeMs?: number } {
    if (since) return { notBeforeMs: since.getTime(), beforeMs: now.getTime() };
    if (from === undefined) return { notBeforeMs: now.getTime() - config.startFrom };
    const parsed = PylonCheckpointSchema.safeParse(from);
    if (!parsed.success) {
      throw new ConnectorError(
        source,
        `stored checkpoint is not a Pylon checkpoint (${formatZodError(parsed.error)}); start again with \`vigil sources reset ${source}\``,
        {
          retryable: false,
        },
      );
    }
    return "cursor" in parsed.data
      ? { cursor: parsed.data.cursor }
      : { notBeforeMs: Date.parse(parsed.data.notBefore) };
  }

  async function* pull(from: Checkpoint | undefined, pullOptions: PullOptions): AsyncGenerator<SourcePage> {
    const { signal } = pullOptions;
    const start = startingPoint(from, pullOptions);
    let cursor = start.cursor;
    let committed: Checkpoint =
      cursor !== undefined ? { cursor } : { notBefore: new Date(start.notBeforeMs ?? 0).toISOString() };
    // By id: a record served twice (the order is undocumented) is still one event.
    const buffered = new Map<string, TimedEvent>();
    // Records refused since the last flush; they ride on the page that moves past them.
    const refused: RefusedRecord[] = [];
    // What the pull read: its count, and the action times it spans (for the estimate of what is left).
    const read = { records: 0, firstMs: Number.POSITIVE_INFINITY, lastMs: Number.NEGATIVE_INFINITY };
    const progress = (): PullProgress => {
      const spanned = read.lastMs - read.firstMs;
      const left = pullOptions.now.getTime() - read.lastMs;
      return {
        recordsRead: read.records,
        ...(spanned > 0 ? { estimatedRemaining: Math.round((read.records / spanned) * Math.max(0, left)) } : {}),
      };
    };

    /** Yields the buffered events in time order; only the last page carries `next` (and `watermark`). */
    function* flush(next: Checkpoint, watermark?: number): Generator<SourcePage> {
      const pages = timeOrderedPages([...buffered.values()], pageEvents);
      buffered.clear();
      const kept = refused.splice(0);
      const last = { ...(kept.length ? { refused: kept } : {}), ...(watermark === undefined ? {} : { watermark }) };
      for (const [i, events] of pages.entries()) {
        const isLast = i === pages.length - 1;
        yield { events, checkpoint: isLast ? next : committed, ...(isLast ? last : {}), progress: progress() };
      }
      if (pages.length === 0) yield { events: [], checkpoint: next, ...last, progress: progress() };
      committed = next;
    }

    for (;;) {
      signal.throwIfAborted();
      let result: Awaited<ReturnType<typeof listPage>>;
      try {
        result = await listPage(cursor, pageSize, signal);
      } catch (err) {
        // The good records before a bad page are queued; the checkpoint stops right before it.
        if (err instanceof ConnectorError && buffered.size > 0)
          yield* flush(cursor !== undefined ? { cursor } : committed);
        throw err;
      }
      refused.push(...result.refused);
      read.records += result.refused.length;
      for (const record of result.records) {
        let event: AuditEvent;
        try {
          event = normalizePylonRecord(source, record);
        } catch (err) {
          if (!(err instanceof ConnectorError)) throw err;
          const { field } = err.context as { field?: unknown };
          refused.push({
            position: result.page,
            reason: err.message,
            ...(typeof field === "string" ? { field } : {}),
            raw: recordText(record.raw),
            format: "provider-record",
          });
          continue;
        }
        const ms = Date.parse(event.time);
        if (start.notBeforeMs !== undefined && ms < start.notBeforeMs) continue;
        if (start.beforeMs !== undefined && ms >= start.beforeMs) continue;
        buffered.set(event.id, { event, ms });
        read.records += 1;
        read.firstMs = Math.min(read.firstMs, ms);
        read.lastMs = Math.max(read.lastMs, ms);
      }
      const { cursor: nextCursor, has_next_page: hasNextPage } = result.pagination;
      if (hasNextPage && (nextCursor === "" || nextCursor === cursor)) {
        throw new ConnectorError(
          source,
          `${result.page}: has_next_page is true but the cursor did not move; stopping rather than reading the same page again`,
          {
            retryable: false,
            page: result.page,
          },
        );
      }
      // An empty cursor (none to hand out) keeps the one we have.
      if (nextCursor !== "") cursor = nextCursor;
      const next: Checkpoint = cursor !== undefined ? { cursor } : committed;
      if (!hasNextPage) {
        // The end of the feed at `now`: whatever Pylon will still show with an action time before
        // now − lookback (its ingestion delay) has been read. A quiet workspace moves its watermark so.
        yield* flush(next, pullOptions.since ? undefined : pullOptions.now.getTime() - config.lookback);
        return;
      }
      // Checkpoint progress through stretches of old records; order what was kept only when there is plenty.
      if (buffered.size === 0 || buffered.size >= maxBuffered || refused.length >= maxBuffered) yield* flush(next);
    }
  }

  return {
    source,
    provider: "pylon",
    pull,
    // The feed from its beginning, keeping only records of `time` on.
    checkpointAt: async (time) => ({ notBefore: time.toISOString() }),
    async check(checkOptions) {
      await listPage(undefined, 1, checkOptions?.signal);
    },
  };
}
