import {
  ConnectorError,
  firstZodProblem,
  formatZodProblem,
  abortableSleep,
  type Logger,
  type RateLimiter,
} from "@vigil/core";
import type { z } from "zod";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A query parameter; arrays repeat the name (`filter[created_at][]=a&filter[created_at][]=b`), nullish values are left out. */
export type QueryValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[];

export interface RetryPolicy {
  /** Total attempts per request, the first included. */
  attempts: number;
  /** First backoff ceiling; doubles per attempt (full jitter picks a delay below it). */
  baseDelayMs: number;
  /** Largest backoff ceiling. */
  maxDelayMs: number;
}

/** What a signing scheme sees of a request, exactly as it will be sent. */
export interface SignableRequest {
  method: HttpMethod;
  url: URL;
  /** Path plus query string as sent, e.g. `/api/v2/audit?limit=2` (what HMAC schemes sign). */
  requestUri: string;
  /** The body bytes as sent (JSON text), or undefined. */
  body: string | undefined;
}

export interface HttpClientOptions {
  /** The source name errors and logs carry. */
  source: string;
  /** Scheme, host and optional base path, e.g. `https://api-us.pydantic.dev/api`. */
  baseUrl: string;
  /** Sent with every request (typically `authorization`). */
  headers?: Record<string, string>;
  /** Per attempt, from sending until the body has been read. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Headers read on 429 (and 503) for the wait, first present wins: `["retry-after"]`, `["x-retry-after"]`. Seconds or an HTTP date. */
  retryAfterHeaders: string[];
  /** Longest wait a 429 may impose inside one request; a longer one ends the request with a retryable ConnectorError. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Acquired before every attempt. */
  rateLimiter?: RateLimiter;
  /** Extra headers for signed-request schemes, computed for each attempt. */
  sign?: (request: SignableRequest) => Record<string, string> | Promise<Record<string, string>>;
  logger: Logger;
  /** Further values that must never appear in errors or logs (credentials sent in a body, say). */
  secrets?: string[];
  /** Source of randomness for jitter, in [0, 1); tests may pin it. */
  random?: () => number;
  /** Largest response body read, in bytes; a larger one fails the request (not retried). Default 32 MiB. */
  maxResponseBytes?: number;
}

export interface HttpRequest<T> {
  method?: HttpMethod;
  /** Appended to the base URL's path; kept verbatim, trailing slash included. */
  path: string;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /** Validates the 2xx body (parsed JSON, or undefined when empty). */
  parse: z.ZodType<T>;
  /**
   * Reads at most this many bytes of this response (never more than the client's
   * `maxResponseBytes`): an unpaged answer too large for the records it was meant to hold fails
   * early with a {@link ResponseTooLargeError}, and the caller asks for less.
   */
  maxResponseBytes?: number;
}

export interface HttpResponse<T> {
  data: T;
  status: number;
  headers: Headers;
}

/** The one HTTP client every provider connector uses. */
export interface HttpClient {
  readonly source: string;
  /** Sends with retries and returns the validated body; throws ConnectorError. */
  request<T>(request: HttpRequest<T>): Promise<T>;
  /** Like `request`, with the status and response headers too. */
  send<T>(request: HttpRequest<T>): Promise<HttpResponse<T>>;
}

const SENSITIVE_HEADER = /authorization|cookie|token|secret|signature|api[-_]?key|password/i;
const SENSITIVE_QUERY = /token|secret|signature|sig$|key|password|auth|credential/i;
const MAX_ERROR_BODY_CHARS = 300;
/** Default of `maxResponseBytes`: a provider's largest documented page is a few MiB. */
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 2 ** 20;
/** Same-origin redirects followed per attempt; a redirect to another origin is never followed. */
const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
const REDACTED = "[redacted]";

type AttemptOutcome<T> =
  | { kind: "done"; response: HttpResponse<T> }
  | { kind: "retry"; reason: string; status?: number; waitMs?: number };

export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new FetchHttpClient(options);
}

class FetchHttpClient implements HttpClient {
  readonly source: string;
  private readonly random: () => number;
  private readonly maxRetryAfterMs: number;
  private readonly retryAfterHeaders: string[];
  private readonly maxResponseBytes: number;

  constructor(private readonly options: HttpClientOptions) {
    if (options.retry.attempts < 1) throw new RangeError("retry.attempts must be at least 1");
    this.source = options.source;
    this.random = options.random ?? Math.random;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.retryAfterHeaders = options.retryAfterHeaders.map((name) => name.toLowerCase());
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  async request<T>(request: HttpRequest<T>): Promise<T> {
    return (await this.send(request)).data;
  }

  async send<T>(request: HttpRequest<T>): Promise<HttpResponse<T>> {
    const method = request.method ?? "GET";
    const url = buildUrl(this.options.baseUrl, request.path, request.query);
    const label = `${method} ${url.pathname}`;
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const { attempts, baseDelayMs, maxDelayMs } = this.options.retry;

    for (let attempt = 1; ; attempt++) {
      const answered = await this.options.rateLimiter?.acquire(request.signal);
      const outcome = await this.attempt(request, method, url, label, body, answered ?? undefined);
      if (outcome.kind === "done") return outcome.response;

      if (attempt >= attempts) {
        throw new ConnectorError(this.source, `${label} failed after ${attempt} attempts: ${outcome.reason}`, {
          retryable: true,
          page: label,
          ...(outcome.status === undefined ? {} : { status: outcome.status }),
        });
      }
      const backoffMs = this.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
      const delayMs = outcome.waitMs ?? backoffMs;
      if (delayMs > this.maxRetryAfterMs) {
        throw new ConnectorError(
          this.source,
          `${label}: HTTP ${outcome.status ?? 429}, and the provider asks to wait ${Math.ceil(delayMs / 1000)} s, longer than ${Math.ceil(this.maxRetryAfterMs / 1000)} s; the next poll tries again`,
          { retryable: true, page: label, status: outcome.status ?? 429 },
        );
      }
      this.options.logger.warn(
        {
          source: this.source,
          method,
          path: url.pathname,
          status: outcome.status,
          attempt,
          delayMs: Math.round(delayMs),
          reason: outcome.reason,
        },
        "retrying provider request",
      );
      await abortableSleep(delayMs, request.signal);
    }
  }

  private async attempt<T>(
    request: HttpRequest<T>,
    method: HttpMethod,
    url: URL,
    label: string,
    body: string | undefined,
    answered: (() => void) | undefined,
  ): Promise<AttemptOutcome<T>> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error("request timed out"));
    }, this.options.timeoutMs);
    const onAbort = () => controller.abort(request.signal?.reason);
    request.signal?.addEventListener("abort", onAbort, { once: true });

    let response: Response;
    let text: string;
    let scrub = (value: string) => value;
    try {
      let target = { method, url, body };
      for (let redirects = 0; ; redirects++) {
        const headers = await this.headersFor(request, target.method, target.url, target.body);
        scrub = secretScrubber([...Object.entries(headers)], target.url, this.options.secrets ?? []);
        try {
          request.signal?.throwIfAborted();
          // Redirects are handled here, not by fetch: fetch would follow one to any host, with every header.
          response = await fetch(target.url, {
            method: target.method,
            headers,
            body: target.body,
            signal: controller.signal,
            redirect: "manual",
          });
        } finally {
          // The provider has the request by now, if it ever will (the rate limiter counts from here).
          if (redirects === 0) answered?.();
        }
        const next = this.redirectTarget(response, target, label, redirects);
        if (!next) break;
        await response.body?.cancel();
        target = next;
      }
      text = await this.readBody(response, label, request.maxResponseBytes);
    } catch (err) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (err instanceof ConnectorError) throw err;
      if (timedOut) return { kind: "retry", reason: `timed out after ${this.options.timeoutMs} ms` };
      return { kind: "retry", reason: `connection failed (${scrub(networkErrorCode(err))})` };
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
    }

    const status = response.status;
    if (status >= 200 && status < 300) {
      return {
        kind: "done",
        response: { data: this.parseBody(request.parse, text, label), status, headers: response.headers },
      };
    }
    const providerSays = describeErrorBody(text, scrub);
    if (status === 429 || status === 503) {
      return {
        kind: "retry",
        status,
        reason: `HTTP ${status}${providerSays}`,
        waitMs: this.retryAfterMs(response.headers),
      };
    }
    if (status === 408 || status >= 500) return { kind: "retry", status, reason: `HTTP ${status}${providerSays}` };
    if (status === 401 || status === 403) {
      throw new ConnectorError(
        this.source,
        `authentication failed (HTTP ${status}): check the credentials of source ${this.source} (${label}${providerSays})`,
        { retryable: false, status, page: label },
      );
    }
    throw new ConnectorError(this.source, `${label} was refused (HTTP ${status})${providerSays}`, {
      retryable: false,
      status,
      page: label,
    });
  }

  /** Every header of one request to `url`: defaults, configured, per-request, then the signature of exactly this request. */
  private async headersFor<T>(
    request: HttpRequest<T>,
    method: HttpMethod,
    url: URL,
    body: string | undefined,
  ): Promise<Record<string, string>> {
    const headers = lowercaseNames({ accept: "application/json", ...this.options.headers, ...request.headers });
    if (body !== undefined) headers["content-type"] ??= "application/json";
    if (this.options.sign) {
      Object.assign(
        headers,
        lowercaseNames(await this.options.sign({ method, url, requestUri: url.pathname + url.search, body })),
      );
    }
    return headers;
  }

  /**
   * Where a redirect answer leads, when it is followed: only within the origin the request went
   * to (the credentials, signatures and custom headers are that origin's), at most
   * {@link MAX_REDIRECTS} times. A redirect elsewhere is an error naming the status and the
   * target's origin, and its body is never read. `undefined`: not a redirect.
   */
  private redirectTarget(
    response: Response,
    from: { method: HttpMethod; url: URL; body: string | undefined },
    label: string,
    redirects: number,
  ): { method: HttpMethod; url: URL; body: string | undefined } | undefined {
    const location = response.headers.get("location");
    if (!REDIRECT_STATUSES.has(response.status) || location === null) return undefined;
    let to: URL;
    try {
      to = new URL(location, from.url);
    } catch {
      return undefined;
    }
    const refuse = (why: string) => {
      void response.body?.cancel();
      return new ConnectorError(this.source, `${label} was redirected (HTTP ${response.status}) ${why}`, {
        retryable: false,
        status: response.status,
        page: label,
      });
    };
    if (to.origin !== from.url.origin) {
      throw refuse(
        `to another origin, ${to.origin}; not followed: credentials stay with ${from.url.origin} (check the source's baseUrl)`,
      );
    }
    if (redirects >= MAX_REDIRECTS) throw refuse(`more than ${MAX_REDIRECTS} times; not followed further`);
    // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body.
    const asGet =
      response.status === 303 || ((response.status === 301 || response.status === 302) && from.method === "POST");
    return asGet ? { method: "GET", url: to, body: undefined } : { ...from, url: to };
  }

  /** The body as text, read as it streams in; more than `maxResponseBytes` ends the request without reading the rest. */
  private async readBody(response: Response, label: string, requestLimit?: number): Promise<string> {
    const limit = Math.min(this.maxResponseBytes, requestLimit ?? Number.POSITIVE_INFINITY);
    const tooLarge = () =>
      new ResponseTooLargeError(
        this.source,
        limit < this.maxResponseBytes
          ? `${label}: the response body is larger than ${formatBytes(limit)}, what this request may hold; not read`
          : `${label}: the response body is larger than ${formatBytes(limit)} (maxResponseMiB); not read. Lower the source's pageSize or raise maxResponseMiB`,
        { retryable: false, status: response.status, page: label },
      );
    const declared = Number(response.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > limit) {
      await response.body?.cancel();
      throw tooLarge();
    }
    if (!response.body) return "";
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks, total).toString("utf8");
  }

  private parseBody<T>(schema: z.ZodType<T>, text: string, label: string): T {
    let json: unknown;
    if (text.trim() !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ConnectorError(this.source, `${label} answered with a body that is not JSON`, {
          retryable: false,
          page: label,
        });
      }
    }
    const result = schema.safeParse(json);
    if (result.success) return result.data;
    const problem = firstZodProblem(result.error);
    throw new ConnectorError(this.source, `unexpected response from ${label}: ${formatZodProblem(problem)}`, {
      retryable: false,
      page: label,
      ...(problem.key === undefined ? {} : { field: problem.key }),
    });
  }

  private retryAfterMs(headers: Headers): number | undefined {
    for (const name of this.retryAfterHeaders) {
      const value = headers.get(name);
      if (value === null) continue;
      const ms = parseRetryAfter(value, Date.now());
      if (ms !== undefined) return ms;
    }
    return undefined;
  }
}

/** A Retry-After value (delta seconds or HTTP date) as milliseconds from `nowMs`; undefined when unreadable. */
export function parseRetryAfter(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function buildUrl(baseUrl: string, path: string, query: Record<string, QueryValue> | undefined): URL {
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) url.searchParams.append(name, String(item));
  }
  return url;
}

function formatBytes(bytes: number): string {
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20} MiB` : `${bytes} bytes`;
}

/** Header names are case-insensitive; one spelling keeps a caller's `Content-Type` from doubling ours. */
function lowercaseNames(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function networkErrorCode(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; name?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.name === "string") return cause.name;
  return err instanceof Error ? err.name : "unknown error";
}

/** `: <provider body>` compacted, truncated and scrubbed, or empty when there is none. */
function describeErrorBody(text: string, scrub: (text: string) => string): string {
  let compact = text.trim();
  try {
    compact = JSON.stringify(JSON.parse(compact));
  } catch {
    compact = compact.replace(/\s+/g, " ");
  }
  if (compact === "") return "";
  const truncated = compact.length > MAX_ERROR_BODY_CHARS ? `${compact.slice(0, MAX_ERROR_BODY_CHARS)}…` : compact;
  return `: ${scrub(truncated)}`;
}

/**
 * Collects every credential this request carries (sensitive header values, the credential part
 * of `Scheme credential`, decoded Basic pairs, sensitive query values, configured secrets) and
 * returns a function that replaces them in any text.
 */
function secretScrubber(headers: [string, string][], url: URL, extra: readonly string[]): (text: string) => string {
  const secrets = new Set<string>(extra);
  for (const [name, value] of headers) {
    if (!SENSITIVE_HEADER.test(name)) continue;
    secrets.add(value);
    const match = /^(\S+)\s+(\S+)$/.exec(value.trim());
    if (!match?.[2]) continue;
    secrets.add(match[2]);
    if (match[1]?.toLowerCase() === "basic") {
      const decoded = Buffer.from(match[2], "base64").toString("utf8");
      secrets.add(decoded);
      for (const part of decoded.split(":")) secrets.add(part);
    }
  }
  for (const [name, value] of url.searchParams) {
    if (SENSITIVE_QUERY.test(name)) secrets.add(value);
  }
  const ordered = [...secrets]
    .filter((secret) => secret.length >= 4)
    .flatMap((secret) => [secret, encodeURIComponent(secret)])
    .sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((acc, secret) => acc.split(secret).join(REDACTED), text);
}

/** A response body larger than the source's `maxResponseMiB`: not read. A held window that gets one is split. */
export class ResponseTooLargeError extends ConnectorError {}
