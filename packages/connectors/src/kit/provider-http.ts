import { createHash } from "node:crypto";
import {
  ConnectorError,
  firstZodProblem,
  formatZodProblem,
  recordText,
  type RateLimit,
  type RateLimitConfig,
} from "@vigil/core";
import { z } from "zod";
import type { RefusedRecord } from "./connector.js";
import type { HttpClient, HttpRequest, RetryPolicy } from "./http-client.js";

/** Retries of provider requests: enough for a 429 burst (one refusal and one or two more) plus a 5xx. */
export const PROVIDER_RETRY_POLICY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/** The configured client-side budget (`rateLimit: { requests, per }`), else the provider's documented one. */
export function providerRateLimit(configured: RateLimitConfig | undefined, documented: RateLimit): RateLimit {
  return configured ? { requests: configured.requests, perMs: configured.per } : documented;
}

/** A short, non-reversible name of a credential, for rate-limit keys (never the credential itself). */
export function credentialFingerprint(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 12);
}

/**
 * Fetches one page and validates its body with `schema`. A body that is not JSON, or does not
 * match, fails with a non-retryable ConnectorError naming the source, `page` (endpoint plus
 * cursor, offset or window) and the field path, so the pull stops before this page.
 */
export async function fetchPage<T>(
  client: HttpClient,
  page: string,
  request: Omit<HttpRequest<T>, "parse">,
  schema: z.ZodType<T>,
): Promise<T> {
  let body: unknown;
  try {
    body = await client.request({ ...request, parse: z.unknown() });
  } catch (err) {
    // Non-retryable without a status: the client's "2xx body is not JSON".
    if (err instanceof ConnectorError && !err.retryable && err.context.status === undefined) {
      throw new ConnectorError(
        client.source,
        `${page}: the response body is not valid JSON (truncated?)`,
        { retryable: false, page },
        { cause: err },
      );
    }
    throw err;
  }
  return validate(client.source, page, schema, body, "");
}

/**
 * Validates each record of a page on its own, so callers keep the record as received next to
 * its validated view; `path` is where the list sits in the body (`data`, `audit_logs`, or `""`
 * for a bare array) and prefixes the field path of an error.
 */
export function parseRecords<T>(
  source: string,
  page: string,
  schema: z.ZodType<T>,
  rows: readonly unknown[],
  path: string,
): T[] {
  return rows.map((row, index) =>
    validate(source, page, schema, row, path === "" ? String(index) : `${path}.${index}`),
  );
}

/** A page's records validated one by one: the accepted with their row as received, and the refused. */
export interface PageRecords<T> {
  records: { value: T; raw: Record<string, unknown> }[];
  refused: RefusedRecord[];
}

/**
 * Like {@link parseRecords}, but a malformed record is set apart (to be quarantined) rather than
 * failing the page: the others are kept. Its reason names the page, the record id and the field.
 */
export function splitRecords<T>(
  source: string,
  page: string,
  schema: z.ZodType<T>,
  rows: readonly unknown[],
  path: string,
): PageRecords<T> {
  const records: PageRecords<T>["records"] = [];
  const refused: RefusedRecord[] = [];
  rows.forEach((row, index) => {
    try {
      const value = validate(source, page, schema, row, path === "" ? String(index) : `${path}.${index}`);
      records.push({ value, raw: row as Record<string, unknown> });
    } catch (err) {
      if (!(err instanceof ConnectorError)) throw err;
      const { field } = err.context as { field?: unknown };
      refused.push({
        position: page,
        reason: err.message,
        ...(typeof field === "string" ? { field } : {}),
        raw: recordText(row),
        format: "provider-record",
      });
    }
  });
  return { records, refused };
}

/** How many times a page holding malformed records is read before they are refused or the pull gives up. */
export const MALFORMED_PAGE_READS = 3;

/**
 * Reads a page again while it holds malformed records: only records malformed the same way in two
 * reads in a row are the provider's data, refused per record; a response corrupted on its way
 * differs from one read to the next. Records that still differ after {@link MALFORMED_PAGE_READS}
 * reads fail the pull, retryable, so the next one reads the page again.
 */
export async function readWholePage<P extends { refused: readonly RefusedRecord[] }>(
  source: string,
  page: string,
  read: () => Promise<P>,
): Promise<P> {
  let result = await read();
  for (let reads = 1; result.refused.length > 0; reads++) {
    if (reads >= MALFORMED_PAGE_READS)
      throw new ConnectorError(
        source,
        `${page}: malformed records differ from one read to the next (${result.refused[0]?.reason}); the next pull reads the page again`,
        { retryable: true, page },
      );
    const again = await read();
    if (sameRefusals(result.refused, again.refused)) return again;
    result = again;
  }
  return result;
}

/** Whether two reads of a page refused the same records for the same reasons. */
export function sameRefusals(a: readonly RefusedRecord[], b: readonly RefusedRecord[]): boolean {
  const key = (r: RefusedRecord) => `${r.reason}\n${r.raw}`;
  const left = new Set(a.map(key));
  return a.length === b.length && b.every((r) => left.has(key(r)));
}

function validate<T>(source: string, page: string, schema: z.ZodType<T>, value: unknown, path: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problem = firstZodProblem(result.error, path === "" ? [] : path.split("."));
  const id = recordId(value);
  const where = path !== "" && id !== undefined ? ` (record id ${id})` : "";
  throw new ConnectorError(source, `${page}: malformed response${where}: ${formatZodProblem(problem)}`, {
    retryable: false,
    page,
    ...(problem.key === undefined ? {} : { field: problem.key }),
  });
}

function recordId(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === "string" || typeof id === "number" ? String(id) : undefined;
}
