import { ConnectorError, type AuditEvent } from "@vigil/core";

/** One page read by {@link followCursor}. */
interface CursorPage<R> {
  records: R[];
  /** The provider says there is more after this page. */
  more: boolean;
  /** The cursor to the next page, when the provider gave one. */
  next: string | undefined;
}

export interface CursorFollowing<R> {
  source: string;
  /** The page's name in errors (method, path, bounds and cursor); `cursor` is undefined on the first page. */
  label(cursor: string | undefined): string;
  fetch(cursor: string | undefined, label: string): Promise<CursorPage<R>>;
  /** A record's id: one served again on a later page is dropped. */
  idOf(record: R): string | number;
  /** The provider's words for "there is more but no new cursor", e.g. "meta.has_more is true but there is no new after_cursor". */
  stuck: string;
}

/**
 * Reads a cursor-paginated listing page by page, yielding each page's records not served before,
 * until the provider says there is no more. A cursor that does not move is an error rather than
 * a loop over the same page.
 */
export async function* followCursor<R>(spec: CursorFollowing<R>): AsyncGenerator<R[]> {
  const seen = new Set<string | number>();
  let cursor: string | undefined;
  for (;;) {
    const label = spec.label(cursor);
    const { records, more, next } = await spec.fetch(cursor, label);
    const fresh = records.filter((record) => !seen.has(spec.idOf(record)));
    for (const record of fresh) seen.add(spec.idOf(record));
    yield fresh;
    if (!more) return;
    if (!next || next === cursor) {
      throw new ConnectorError(spec.source, `${label}: ${spec.stuck} to follow`, { retryable: false, page: label });
    }
    cursor = next;
  }
}

/** An event with its time in milliseconds, as pulls hold them before yielding. */
export interface TimedEvent {
  event: AuditEvent;
  ms: number;
}

/**
 * Sorts held events by time, ties by id (the one order every pull yields), and cuts them into
 * pages of at most `pageEvents`. Sorts `held` in place.
 */
export function timeOrderedPages(held: TimedEvent[], pageEvents: number): AuditEvent[][] {
  held.sort((a, b) => a.ms - b.ms || (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
  const pages: AuditEvent[][] = [];
  for (let i = 0; i < held.length; i += pageEvents) {
    const page: AuditEvent[] = [];
    for (let j = i; j < Math.min(i + pageEvents, held.length); j++) page.push((held[j] as TimedEvent).event);
    pages.push(page);
  }
  return pages;
}
