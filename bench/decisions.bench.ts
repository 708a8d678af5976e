// Decisions held back by a watermark, released at once: Redis memory per pending decision, and how
// long each watermark call blocks Redis while a backlog of 100,000 is decided (a call takes at
// most `decisionBudget` due decisions, the engine calls again for the rest).
import { randomUUID } from "node:crypto";
import { createRedis, deleteKeyspace, Keyspace, MAX_ALERT_EVENT_IDS, type AuditEvent } from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, type RuleStateStore } from "@vigil/engine";

const T0 = Date.parse("2026-03-01T00:00:00Z");

const RULES = {
  absence: `id: bench.absence
name: Token not reviewed
severity: low
when: { in: [{ var: action }, [create, update]] }
absence: { groupBy: [target.id], after: { "==": [{ var: action }, create] }, expect: { "==": [{ var: action }, update] }, within: 1h }
`,
  newValue: `id: bench.new-value
name: New IP
severity: low
when: { "==": [{ var: action }, login] }
newValue: { groupBy: [actor.id], fields: [ip], learning: 0, forgetAfter: 1d }
`,
};

export interface DecisionBacklogResult {
  kind: "absence" | "newValue";
  pending: number;
  bytesPerPending: number;
  calls: number;
  /** Wall time of each watermark call as the client saw it (Redis time plus the round trip). */
  maxCallMs: number;
  medianCallMs: number;
  /** Redis's own time in the script per call (INFO commandstats around each call): the longest, and the median. */
  maxRedisMs: number;
  medianRedisMs: number;
  alerts: number;
}

async function usedMemory(redis: ReturnType<typeof createRedis>): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Time Redis spent in scripts so far (EVALSHA, and EVAL the first time a script is sent). */
async function evalStats(redis: ReturnType<typeof createRedis>): Promise<{ usec: number }> {
  const info = await redis.info("commandstats");
  let usec = 0;
  for (const match of info.matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)) usec += Number(match[1]);
  return { usec };
}

export async function runDecisionBacklogBench(options: {
  redisUrl: string;
  pending: number;
  kind: "absence" | "newValue";
}): Promise<DecisionBacklogResult> {
  const redis = createRedis(options.redisUrl);
  const keyspace = new Keyspace(`bench-decisions-${randomUUID()}`);
  try {
    const { rules, problems } = parseRules(RULES[options.kind], "bench.yaml");
    if (problems.length) throw new Error(problems.map((p) => p.message).join("; "));
    const inner = new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
    const callMs: number[] = [];
    const redisMs: number[] = [];
    const timed: RuleStateStore = {
      apply: (batch) => inner.apply(batch),
      sources: () => inner.sources(),
      capSource: (source, seq, at) => inner.capSource(source, seq, at),
      advance: async (source, mark, advanceOptions) => {
        const stats = await evalStats(redis);
        const started = performance.now();
        const result = await inner.advance(source, mark, advanceOptions);
        callMs.push(performance.now() - started);
        redisMs.push(((await evalStats(redis)).usec - stats.usec) / 1000);
        return result;
      },
    };
    // Two sources: `lagging` has not marked yet, so every decision over `busy`'s events waits.
    const engine = new Engine(rules, timed, {
      sources: [
        { name: "busy", provider: "zendesk" },
        { name: "lagging", provider: "zendesk" },
      ],
    });
    const event = (i: number): AuditEvent => ({
      id: `e${i}`,
      source: "busy",
      provider: "zendesk",
      nativeId: String(i),
      time: new Date(T0 + i * 1_000).toISOString(),
      action: options.kind === "absence" ? "create" : "login",
      category: "other",
      outcome: "success",
      actor: { id: `user-${i % 1000}` },
      target: { id: `token-${i}`, type: "apitoken" },
      ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      attributes: {},
      raw: {},
    });
    const before = await usedMemory(redis);
    for (let start = 0; start < options.pending; start += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, options.pending - start) }, (_, k) => event(start + k));
      await engine.processBatch(batch, randomUUID(), { sources: ["busy"] });
    }
    await engine.advance("busy", { seq: 1, delivered: T0 + options.pending * 1_000 });
    const after = await usedMemory(redis);
    callMs.length = 0;
    redisMs.length = 0;
    const { alerts } = await engine.advance("lagging", { seq: 1, bound: T0 + options.pending * 1_000 + 7_200_000 });
    const sorted = [...callMs].sort((a, b) => a - b);
    const inRedis = [...redisMs].sort((a, b) => a - b);
    return {
      kind: options.kind,
      pending: options.pending,
      bytesPerPending: (after - before) / options.pending,
      calls: callMs.length,
      maxCallMs: sorted.at(-1) ?? 0,
      medianCallMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
      maxRedisMs: inRedis.at(-1) ?? 0,
      medianRedisMs: inRedis[Math.floor(inRedis.length / 2)] ?? 0,
      alerts: alerts.length,
    };
  } finally {
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  }
}
