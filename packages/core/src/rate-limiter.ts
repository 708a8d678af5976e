import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { RedisClient } from "./redis.js";
import { z } from "zod";
import { abortableSleep } from "./abortable-sleep.js";
import { LuaCommand } from "./lua-command.js";
import type { Keyspace } from "./redis.js";

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
  /**
   * Resolves once a request may be sent; rejects with the signal's reason if it aborts first.
   * May resolve to a function the caller invokes as soon as the request is answered (or has
   * failed), which tells the limiter when the provider got it at the latest.
   */
  acquire(signal?: AbortSignal): Promise<undefined | (() => void)>;
}

/**
 * GCRA over Redis server time, by reservation, so replicas on different clocks share one
 * schedule. The key holds the theoretical arrival time (TAT) in microseconds. Takes the earliest
 * slot at or after now that the schedule allows (TAT moves past it at once) and returns the
 * microseconds until that slot (0 when it is now) and the TAT it left, which
 * {@link GCRA_REFUND_SCRIPT} needs. One round trip per request, however long the wait.
 */
const GCRA_RESERVE_SCRIPT = new LuaCommand(
  "vigilGcraReserve",
  1,
  `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then tat = math.max(tonumber(stored), now) end
local slot = math.max(now, tat - tolerance)
local new_tat = string.format('%.0f', tat + interval)
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return {slot - now, new_tat}
`,
);

/**
 * Gives back a reserved slot that will not be used (its request was cancelled while waiting),
 * provided nobody has reserved after it: the TAT is still the one that reservation left.
 */
const GCRA_REFUND_SCRIPT = new LuaCommand(
  "vigilGcraRefund",
  1,
  `
local stored = redis.call('GET', KEYS[1])
if stored ~= ARGV[1] then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(stored) - tonumber(ARGV[2])
if tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
else
  redis.call('DEL', KEYS[1])
end
return 1
`,
);

/**
 * A provider counts a request when it arrives, which is some time between our sending it and
 * its answer: a reply read late or a GC pause on either side moves it by milliseconds. So this
 * process sends a request only once the one `requests` before it is `perMs` behind it, counted
 * from that one's answer (its latest possible arrival), plus this margin for servers that
 * count in whole milliseconds. Grants exactly `perMs / requests` apart would otherwise let a
 * late arrival and a prompt one put `requests + 1` arrivals into one span of `perMs`.
 */
const ARRIVAL_MARGIN_MS = 2;
/** A request not answered this long after it was sent is taken to have arrived by then (a slow answer, not a slow arrival). */
const MAX_TRANSIT_MS = 100;
/** Budgets larger than this many requests per span keep no local log (no documented one is). */
const MAX_LOGGED_REQUESTS = 1_000;

/**
 * Pushes the schedule out: no slot before `delayUs` from now (a provider's `Retry-After`), for
 * every replica sharing the key. A later stored TAT is kept.
 */
const GCRA_DEFER_SCRIPT = new LuaCommand(
  "vigilGcraDefer",
  1,
  `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = now + tonumber(ARGV[1]) + tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
if stored and tonumber(stored) >= tat then return 0 end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return 1
`,
);

/** One request let go by this process: when, and when it was answered. */
interface Sent {
  at: number;
  answeredAt: number | undefined;
}

export interface RedisRateLimiterOptions extends RateLimit {
  redis: RedisClient;
  keyspace: Keyspace;
  /** Names the credential whose budget this is; hashed before it goes into a key. */
  credentialId: string;
}

/**
 * A rate limiter per credential, shared through Redis by every replica. `acquire` reserves the
 * next slot in one round trip and waits for it. It also keeps a log of this process's last
 * `requests` requests, so none goes out until the one `requests` before it is `perMs` behind,
 * counted from that one's answer (see {@link ARRIVAL_MARGIN_MS}).
 */
export class RedisRateLimiter implements RateLimiter {
  readonly key: string;
  private readonly intervalUs: number;
  private readonly toleranceUs: number;
  private readonly redis: RedisClient;
  private readonly requests: number;
  private readonly perMs: number;
  /** The last `requests` requests let go, oldest at `oldest` once full (a ring). */
  private readonly sent: Sent[] = [];
  private oldest = 0;

  constructor(options: RedisRateLimiterOptions) {
    const limit = RateLimitSchema.parse({ requests: options.requests, perMs: options.perMs, burst: options.burst });
    this.redis = options.redis;
    this.key = rateLimitKey(options.keyspace, options.credentialId);
    // Rounded up so the spacing never allows more than the configured rate.
    this.intervalUs = Math.ceil((limit.perMs * 1000) / limit.requests);
    this.toleranceUs = this.intervalUs * (limit.burst - 1);
    // A burst allows `burst - 1` extra requests per span, which the local log then allows too.
    this.requests = limit.requests + limit.burst - 1;
    this.perMs = limit.perMs;
  }

  /**
   * Reserves the next slot of the shared schedule: `waitMs` until it (0 when it is now) and
   * `refund`, which gives it back unless a later slot has been reserved since. `acquire` is this
   * plus waiting; on its own it shows the schedule without sleeping.
   */
  async reserve(): Promise<{ waitMs: number; refund(): Promise<void> }> {
    const [waitUs, tat] = (await GCRA_RESERVE_SCRIPT.run(
      this.redis,
      [this.key],
      [this.intervalUs, this.toleranceUs],
    )) as [number, string];
    return {
      waitMs: Number(waitUs) / 1000,
      refund: async () => {
        await GCRA_REFUND_SCRIPT.run(this.redis, [this.key], [tat, this.intervalUs]).catch(() => undefined);
      },
    };
  }

  /** The provider said to wait (`Retry-After`): no replica gets a slot for `delayMs` from now. */
  async defer(delayMs: number): Promise<void> {
    await GCRA_DEFER_SCRIPT.run(this.redis, [this.key], [Math.ceil(delayMs * 1000), this.toleranceUs]);
  }

  /** Waits for a slot; resolves to the function to call once the request is answered. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    // Redis runs the script between the ask and the reply, so the slot is counted from the ask:
    // a reply read late (the thread busy with the previous page) does not delay the request more.
    const askedAt = performance.now();
    const { waitMs, refund } = await this.reserve();
    const slotAt = askedAt + waitMs;
    // Cancelled before its slot was used (refund): the slot goes back unless someone has reserved after it.
    if (signal?.aborted) {
      await refund();
      throw signal.reason;
    }
    for (;;) {
      const now = performance.now();
      const readyAt = Math.max(slotAt, this.localReadyAt(now));
      if (readyAt <= now) break;
      try {
        await abortableSleep(Math.ceil(readyAt - now), signal);
      } catch (err) {
        await refund();
        throw err;
      }
    }
    const sent: Sent = { at: performance.now(), answeredAt: undefined };
    this.log(sent);
    return () => {
      sent.answeredAt ??= performance.now();
    };
  }

  /** When this process may send again without `requests` arrivals in `perMs`. */
  private localReadyAt(now: number): number {
    if (this.sent.length < this.requests) return 0;
    const oldest = this.sent[this.oldest] as Sent;
    // Unanswered yet: it arrived by now, or by the transit cap.
    const arrivedBy = Math.min(oldest.answeredAt ?? Math.max(now, oldest.at), oldest.at + MAX_TRANSIT_MS);
    return arrivedBy + this.perMs + ARRIVAL_MARGIN_MS;
  }

  private log(sent: Sent): void {
    if (this.requests > MAX_LOGGED_REQUESTS) return;
    if (this.sent.length < this.requests) {
      this.sent.push(sent);
      return;
    }
    this.sent[this.oldest] = sent;
    this.oldest = (this.oldest + 1) % this.requests;
  }
}

/** The Redis key of a credential's budget; the id is hashed so no secret ends up in a key name. */
export function rateLimitKey(keyspace: Keyspace, credentialId: string): string {
  const digest = createHash("sha256").update(credentialId).digest("hex").slice(0, 32);
  return keyspace.key("ratelimit", digest);
}
