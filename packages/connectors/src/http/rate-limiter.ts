import { createHash } from "node:crypto";
import type { Keyspace } from "@vigil/core";
import type { Redis } from "ioredis";
import { z } from "zod";
import { abortableSleep } from "../abortable-sleep.js";
import { LuaScript } from "../lua-script.js";

/** A client-side request budget: at most `requests` per `perMs`. */
export const RateLimitSchema = z.strictObject({
  requests: z.number().int().min(1),
  perMs: z.number().int().min(1),
  /**
   * Requests allowed back to back before spacing starts. The default, 1, spaces every request
   * by `perMs / requests`, so no span of `perMs` ever holds more than `requests`; a larger burst
   * may put up to `burst - 1` extra requests into one such span.
   */
  burst: z.number().int().min(1).default(1),
});
export type RateLimit = z.input<typeof RateLimitSchema>;

/** Waits for permission before each request. */
export interface RateLimiter {
  /** Resolves once a request may be sent; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

/**
 * GCRA over Redis server time, so replicas on different clocks share one schedule. The key
 * holds the theoretical arrival time (TAT) in microseconds. Returns 0 when granted, else the
 * milliseconds to wait before asking again.
 */
const GCRA_SCRIPT = new LuaScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), now) end
local allowed_at = tat - tolerance
if now < allowed_at then
  return math.ceil((allowed_at - now) / 1000)
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
`);

export interface RedisRateLimiterOptions extends RateLimit {
  redis: Redis;
  keyspace: Keyspace;
  /** Names the credential whose budget this is; hashed before it goes into a key. */
  credentialId: string;
}

/** A rate limiter per credential, shared through Redis by every replica. */
export class RedisRateLimiter implements RateLimiter {
  readonly key: string;
  private readonly intervalUs: number;
  private readonly toleranceUs: number;
  private readonly redis: Redis;

  constructor(options: RedisRateLimiterOptions) {
    const limit = RateLimitSchema.parse({ requests: options.requests, perMs: options.perMs, burst: options.burst });
    this.redis = options.redis;
    this.key = rateLimitKey(options.keyspace, options.credentialId);
    // Rounded up so the spacing never allows more than the configured rate.
    this.intervalUs = Math.ceil((limit.perMs * 1000) / limit.requests);
    this.toleranceUs = this.intervalUs * (limit.burst - 1);
  }

  /** Takes a slot if one is free now: 0 when granted, else milliseconds until the next slot. */
  async tryAcquire(): Promise<number> {
    const waitMs = await GCRA_SCRIPT.run(this.redis, [this.key], [this.intervalUs, this.toleranceUs]);
    return Number(waitMs);
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const waitMs = await this.tryAcquire();
      if (waitMs === 0) return;
      await abortableSleep(waitMs, signal);
    }
  }
}

/** The Redis key of a credential's budget; the id is hashed so no secret ends up in a key name. */
export function rateLimitKey(keyspace: Keyspace, credentialId: string): string {
  const digest = createHash("sha256").update(credentialId).digest("hex").slice(0, 32);
  return keyspace.key("ratelimit", digest);
}
