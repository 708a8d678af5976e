import { createHash } from "node:crypto";
import { ConnectorError, firstZodProblem, formatZodProblem, type RateLimit, type RateLimitConfig } from "@vigil/core";
import { z } from "zod";
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
