import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type { Keyspace } from "@vigil/core";

const WINDOW_SCRIPT = readFileSync(new URL("./window.lua", import.meta.url), "utf8");

/** Per-rule window parameters, all in milliseconds. */
export interface WindowRuleParams {
  count: number;
  within: number;
  suppress: number;
  lateness: number;
  distinct: boolean;
  /** Wall-clock expiry of an idle group's keys. */
  ttl: number;
}

/** One batch of work for the window store; indexes are 0-based here. */
export interface WindowBatch {
  batchId: string;
  /** Ids of the events that matched at least one rule. */
  eventIds: string[];
  rules: WindowRuleParams[];
  /** Each group: its rule and the stable key naming it (rule id + hashed group values). */
  groups: { rule: number; key: string }[];
  /** Threshold matches: event, group, event time, distinct value ("" when not distinct). */
  updates: [event: number, group: number, timeMs: number, distinctValue: string][];
  /** Match-rule hits: event, rule. Only events never seen before come back. */
  matches: [event: number, rule: number][];
  /** Events with match-rule hits, remembered (for seenTtlMs) so each alerts once; window updates dedupe by id in their group. */
  seenEvents: number[];
}

export interface FiredWindow {
  event: number;
  group: number;
  bucket: number;
  windowEnd: number;
  count: number;
  windowStart: number;
  eventIds: string[];
}

export interface WindowResult {
  fired: FiredWindow[];
  late: { event: number; group: number }[];
  matches: { event: number; rule: number }[];
  duplicates: number;
}

/** Counts events in event-time windows; see window.lua for the semantics. */
export interface WindowStore {
  /** Applies a batch atomically in one round trip; applying the same batchId again returns the first result. */
  apply(batch: WindowBatch): Promise<WindowResult>;
}

type ScriptRedis = Redis & {
  vigilWindow(numKeys: number, ...args: string[]): Promise<string>;
};

const asArray = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

export class RedisWindowStore implements WindowStore {
  private readonly redis: ScriptRedis;
  constructor(
    redis: Redis,
    private readonly keyspace: Keyspace,
    private readonly options: { seenTtlMs: number; batchTtlMs?: number; maxEventIds: number },
  ) {
    if (!("vigilWindow" in redis)) redis.defineCommand("vigilWindow", { lua: WINDOW_SCRIPT });
    this.redis = redis as ScriptRedis;
  }

  async apply(batch: WindowBatch): Promise<WindowResult> {
    if (batch.eventIds.length === 0) return { fired: [], late: [], matches: [], duplicates: 0 };
    const keys: string[] = [this.keyspace.key("batch", batch.batchId)];
    for (const event of batch.seenEvents) keys.push(this.keyspace.key("seen", batch.eventIds[event]!));
    const groups = batch.groups.map((group) => {
      const rule = batch.rules[group.rule]!;
      const base = this.keyspace.key("win", group.key);
      const z = keys.push(`${base}:z`);
      const f = keys.push(`${base}:f`);
      const d = rule.distinct ? keys.push(`${base}:d`) : undefined;
      return { r: group.rule + 1, z, f, d };
    });
    const payload = {
      eventIds: batch.eventIds,
      seenEvents: batch.seenEvents.map((e) => e + 1),
      seenTtl: this.options.seenTtlMs,
      batchTtl: this.options.batchTtlMs ?? 86_400_000,
      maxEventIds: this.options.maxEventIds,
      rules: batch.rules,
      groups,
      updates: batch.updates.map(([e, g, t, v]) => [e + 1, g + 1, t, v]),
      matches: batch.matches.map(([e, r]) => [e + 1, r + 1]),
    };
    const raw = await this.redis.vigilWindow(keys.length, ...keys, JSON.stringify(payload));
    const result = JSON.parse(raw) as Record<string, unknown>;
    return {
      fired: asArray<[number, number, number, number, number, number, unknown]>(result.fired).map(
        ([event, group, bucket, windowEnd, count, windowStart, ids]) => ({
          event: event - 1,
          group: group - 1,
          bucket,
          windowEnd,
          count,
          windowStart,
          eventIds: asArray<string>(ids),
        }),
      ),
      late: asArray<[number, number]>(result.late).map(([event, group]) => ({ event: event - 1, group: group - 1 })),
      matches: asArray<[number, number]>(result.matches).map(([event, rule]) => ({ event: event - 1, rule: rule - 1 })),
      duplicates: Number(result.duplicates ?? 0),
    };
  }
}
