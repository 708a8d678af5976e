import { z } from "zod";

/** At most `requests` accepted requests in any span of `perMs` milliseconds. */
export const RateLimitSettingSchema = z.strictObject({
  requests: z.int().min(1),
  perMs: z.int().min(1),
});
export type RateLimitSetting = z.infer<typeof RateLimitSettingSchema>;

export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  /** Requests still allowed in the current span (after this one, when allowed). */
  remaining: number;
  /** When the oldest counted request leaves the span; 0 when nothing is counted. */
  resetInMs: number;
  /** How long to wait before a retry can succeed; 0 when allowed. */
  retryAfterMs: number;
  windowMs: number;
}

/**
 * Sliding-log limiter, one log per key (provider + endpoint + caller). Requests it refuses
 * are not counted, so a client that waits `retryAfterMs` gets through.
 */
export class SlidingWindowRateLimiter {
  private readonly logs = new Map<string, number[]>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  take(key: string, setting: RateLimitSetting): RateLimitVerdict {
    const now = this.nowMs();
    const log = (this.logs.get(key) ?? []).filter((at) => at > now - setting.perMs);
    this.logs.set(key, log);
    const oldest = log[0];
    if (log.length >= setting.requests && oldest !== undefined) {
      const retryAfterMs = Math.max(1, oldest + setting.perMs - now);
      return {
        allowed: false,
        limit: setting.requests,
        remaining: 0,
        resetInMs: retryAfterMs,
        retryAfterMs,
        windowMs: setting.perMs,
      };
    }
    log.push(now);
    const first = log[0] ?? now;
    return {
      allowed: true,
      limit: setting.requests,
      remaining: setting.requests - log.length,
      resetInMs: first + setting.perMs - now,
      retryAfterMs: 0,
      windowMs: setting.perMs,
    };
  }
}

/** Whole seconds to announce in a retry header, never 0 (clients treat 0 as "retry at once"). */
export function retryAfterSeconds(verdict: Pick<RateLimitVerdict, "retryAfterMs">): number {
  return Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
}
