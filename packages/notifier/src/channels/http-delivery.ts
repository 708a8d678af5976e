import { DeliveryError, type RateLimitConfig, type RateLimiter, RedisRateLimiter } from "@vigil/core";
import type { ChannelContext } from "./channel-manifest.js";

/** Client errors a retry can cure: the receiver timed out, or asked us to slow down. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 429]);

/** Where an HTTP channel sends, as errors may name it. */
export interface HttpTarget {
  /** The channel's name, for the DeliveryError. */
  channel: string;
  /** How errors name the receiver: a kind and host only, e.g. `Slack hooks.slack.com` (never the path or query). */
  receiver: string;
  timeoutMs: number;
  /** The channel's shared budget; a 429's `Retry-After` pushes it out for every replica. */
  limiter?: RateLimiter & Partial<Pick<RedisRateLimiter, "defer">>;
}

/** A 2xx answer. */
export interface HttpAnswer {
  status: number;
  /** The status line for the alert history, e.g. `202 Accepted`. */
  summary: string;
  text: string;
}

/**
 * POSTs one request for a channel: waits for the channel's rate limit, never follows a redirect
 * (a POST must not turn into a GET elsewhere), and turns every failure into a DeliveryError:
 * permanent for a 4xx other than 408 and 429, retryable otherwise. A 429's `Retry-After` defers
 * the channel's shared limiter, so no replica's next attempt comes sooner.
 */
export async function postHttp(
  target: HttpTarget,
  url: string,
  body: string,
  headers: Headers | Record<string, string>,
): Promise<HttpAnswer> {
  const release = await target.limiter?.acquire();
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    throw new DeliveryError(target.channel, describeFailure(target, err), false, { cause: err });
  } finally {
    release?.();
  }
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  if (response.ok) return { status: response.status, summary: status, text };

  const excerpt = text.trim() ? `: ${text.replace(/\s+/g, " ").trim().slice(0, 200)}` : "";
  const retryAfterMs = response.status === 429 ? parseRetryAfter(response.headers.get("retry-after")) : undefined;
  if (retryAfterMs !== undefined) await target.limiter?.defer?.(retryAfterMs);
  const wait = retryAfterMs !== undefined ? ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)` : "";
  const permanent = response.status >= 400 && response.status < 500 && !RETRYABLE_CLIENT_STATUSES.has(response.status);
  throw new DeliveryError(target.channel, `${target.receiver} answered ${status}${wait}${excerpt}`, permanent);
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeFailure(target: HttpTarget, err: unknown): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `${target.receiver} did not answer within ${target.timeoutMs}ms`;
  }
  // fetch reports "fetch failed" and puts the socket error (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === "string" ? cause.code : err instanceof Error ? err.message : String(err);
  return `${target.receiver} unreachable (${code})`;
}

/** A channel's request budget in Redis, shared by every notifier replica sending with the same credential. */
export function channelLimiter(
  context: ChannelContext,
  credentialId: string,
  rateLimit: RateLimitConfig,
): RedisRateLimiter {
  return new RedisRateLimiter({
    redis: context.redis,
    keyspace: context.keyspace,
    credentialId,
    requests: rateLimit.requests,
    perMs: rateLimit.per,
  });
}

/** `…` in place of what does not fit in `max` characters. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
