import { randomUUID } from "node:crypto";
import { Keyspace, createRedis, deleteKeyspace } from "./redis.js";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RedisRateLimiter, rateLimitKey } from "./rate-limiter.js";

describe("Redis rate limiter", () => {
  let redis: Redis;
  let keyspace: Keyspace;

  beforeEach(() => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
  });
  afterEach(async () => {
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  const limiter = (credentialId: string, limit: { requests: number; perMs: number; burst?: number }) =>
    new RedisRateLimiter({ redis, keyspace, credentialId, ...limit });

  it("two instances sharing a credential get no more than the budget of immediate slots between them", async () => {
    // 5 per minute with a burst of 5: the sixth slot opens 12 s after the first, far beyond this test.
    const a = limiter("pylon:org-1", { requests: 5, perMs: 60_000, burst: 5 });
    const b = limiter("pylon:org-1", { requests: 5, perMs: 60_000, burst: 5 });
    const replies = (await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).reserve()))).map(
      (slot) => slot.waitMs,
    );
    expect(replies.filter((waitMs) => waitMs === 0)).toHaveLength(5);
    for (const waitMs of replies.filter((w) => w !== 0)) expect(waitMs).toBeGreaterThan(0);
  });

  it("defer() holds back every instance sharing the credential until the delay has passed", async () => {
    const a = limiter("slack:hook", { requests: 10, perMs: 1_000, burst: 3 });
    const b = limiter("slack:hook", { requests: 10, perMs: 1_000, burst: 3 });
    await a.defer(30_000);
    const [first, second] = await Promise.all([a.reserve(), b.reserve()]);
    expect(first?.waitMs).toBeGreaterThan(29_000);
    expect(second?.waitMs).toBeGreaterThan(29_000);
    // A shorter deferral does not shorten a longer one.
    await b.defer(1_000);
    expect((await a.reserve()).waitMs).toBeGreaterThan(29_000);
    expect((await limiter("slack:other", { requests: 10, perMs: 1_000 }).reserve()).waitMs).toBe(0);
  });

  it("keeps separate budgets per credential", async () => {
    const first = limiter("zendesk:acme", { requests: 2, perMs: 60_000, burst: 2 });
    const second = limiter("zendesk:globex", { requests: 2, perMs: 60_000, burst: 2 });
    const grants = async (l: RedisRateLimiter) =>
      (await Promise.all([l.reserve(), l.reserve(), l.reserve()])).filter((slot) => slot.waitMs === 0).length;
    expect(await grants(first)).toBe(2);
    expect(await grants(second)).toBe(2);
  });

  it("spaces requests evenly by default (burst 1)", async () => {
    const l = limiter("ashby:key-1", { requests: 10, perMs: 60_000 });
    const replies = [(await l.reserve()).waitMs, (await l.reserve()).waitMs];
    expect(replies[0]).toBe(0);
    expect(replies[1]).toBeGreaterThan(0);
    expect(replies[1]).toBeLessThanOrEqual(6_000);
  });

  it("acquire() waits for free slots, and two waiting instances never exceed the rate", async () => {
    // 10 per second, evenly spaced: at most one grant per 100 ms across both instances.
    const limit = { requests: 10, perMs: 1_000 };
    const a = limiter("logfire:org", limit);
    const b = limiter("logfire:org", limit);
    const grants = { a: 0, b: 0 };
    const stop = new AbortController();
    const run = async (l: RedisRateLimiter, name: "a" | "b") => {
      try {
        for (;;) {
          await l.acquire(stop.signal);
          grants[name] += 1;
        }
      } catch (err) {
        if (!stop.signal.aborted) throw err;
      }
    };
    const started = performance.now();
    const running = [run(a, "a"), run(b, "b")];
    await new Promise((resolve) => setTimeout(resolve, 650));
    stop.abort(new Error("done"));
    await Promise.all(running);
    const elapsedMs = performance.now() - started;

    const total = grants.a + grants.b;
    expect(total).toBeLessThanOrEqual(Math.floor(elapsedMs / 100) + 1);
    expect(total).toBeGreaterThanOrEqual(2);
    expect(grants.a).toBeGreaterThanOrEqual(1);
    expect(grants.b).toBeGreaterThanOrEqual(1);
  });

  it("acquire() rejects with the signal's reason when aborted while waiting", async () => {
    const l = limiter("bloodhound:token", { requests: 1, perMs: 60_000 });
    await l.acquire();
    const controller = new AbortController();
    const waiting = l.acquire(controller.signal);
    controller.abort(new Error("shutting down"));
    await expect(waiting).rejects.toThrow("shutting down");
  });

  it("acquire() gives a slot back when cancelled while waiting for it, unless a later one was reserved", async () => {
    const a = limiter("bloodhound:instance", { requests: 1, perMs: 60_000 });
    const b = limiter("bloodhound:instance", { requests: 1, perMs: 60_000 });
    await a.acquire();
    const afterFirst = await redis.get(a.key);
    const reserved = async (previous: string | null) => {
      while ((await redis.get(a.key)) === previous) await new Promise((resolve) => setImmediate(resolve));
      return redis.get(a.key);
    };

    const cancel = new AbortController();
    const waiting = a.acquire(cancel.signal);
    await reserved(afterFirst);
    cancel.abort(new Error("window split"));
    await expect(waiting).rejects.toThrow("window split");
    expect(await redis.get(a.key)).toBe(afterFirst);

    // Two waiting: the first cancelled cannot give its slot back once another is reserved after it.
    const first = new AbortController();
    const second = new AbortController();
    const waitingFirst = a.acquire(first.signal);
    const afterSecond = await reserved(afterFirst);
    const waitingSecond = b.acquire(second.signal);
    const afterThird = await reserved(afterSecond);
    first.abort(new Error("first cancelled"));
    await expect(waitingFirst).rejects.toThrow("first cancelled");
    expect(await redis.get(a.key)).toBe(afterThird);
    second.abort(new Error("second cancelled"));
    await expect(waitingSecond).rejects.toThrow("second cancelled");
    expect(await redis.get(a.key)).toBe(afterSecond);
  });

  it("keys the budget by a hash of the credential id, never the id itself", async () => {
    const secretish = "token-abcdef123456";
    const l = limiter(secretish, { requests: 1, perMs: 60_000 });
    await l.reserve();
    expect(l.key).toBe(rateLimitKey(keyspace, secretish));
    expect(l.key.startsWith(keyspace.key("ratelimit", ""))).toBe(true);
    expect(l.key).not.toContain(secretish);
    expect(await redis.exists(l.key)).toBe(1);
    expect(await redis.pttl(l.key)).toBeGreaterThan(0);
  });
});
