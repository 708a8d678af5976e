import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { LuaCommand, type Keyspace, type SourceMark } from "@vigil/core";
import type {
  SourceProgress,
  FiredState,
  RuleStateBatch,
  RuleStateOptions,
  RuleStateResult,
  RuleStateStore,
} from "./rule-state.store.js";
import { ruleStateScript } from "./rule-state.script.js";

const SCRIPT = ruleStateScript();
const ADVANCE = new LuaCommand(
  "vigilSourceProgress",
  1,
  readFileSync(new URL("./source-progress.lua", import.meta.url), "utf8"),
);

type ScriptRedis = Redis & {
  vigilRuleState(numKeys: number, ...args: string[]): Promise<string>;
};

interface WireFired {
  r: number;
  e: number;
  g: string;
  b: number;
  ws: number;
  we: number;
  c: number;
  ids?: unknown;
  ch?: unknown;
  val?: string;
  ls?: number;
}

const asArray = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

/** Rule state in Redis: each batch is one atomic call of the composed rule-state script. */
export class RedisRuleStateStore implements RuleStateStore {
  private readonly redis: ScriptRedis;
  constructor(
    redis: Redis,
    private readonly keyspace: Keyspace,
    private readonly options: RuleStateOptions,
  ) {
    if (!("vigilRuleState" in redis)) redis.defineCommand("vigilRuleState", { lua: SCRIPT });
    this.redis = redis as ScriptRedis;
  }

  async apply(batch: RuleStateBatch): Promise<RuleStateResult> {
    if (batch.eventIds.length === 0) return { fired: [], late: [], duplicates: 0 };
    // Lua indexes from 1; everything else goes through under short names.
    const payload = {
      prefix: this.keyspace.key(""),
      seenTtl: this.options.seenTtlMs,
      batchTtl: this.options.batchTtlMs ?? 86_400_000,
      maxIds: this.options.maxEventIds,
      eventIds: batch.eventIds,
      sources: batch.sources?.length ? batch.sources : undefined,
      rules: batch.rules.map((rule) => ({ ...rule.params, kind: rule.kind, key: rule.key })),
      updates: batch.updates.map((u) => ({
        r: u.rule + 1,
        e: u.event + 1,
        g: u.group,
        t: u.time,
        l: u.lag,
        v: u.value,
        s: u.steps?.map((s) => s + 1),
      })),
    };
    const raw = await this.redis.vigilRuleState(1, this.keyspace.key("batch", batch.batchId), JSON.stringify(payload));
    const result = JSON.parse(raw) as { fired?: unknown; late?: unknown; duplicates?: number; forgotten?: unknown };
    const forgotten = asArray<[number, number]>(result.forgotten)
      .map(([rule, values]) => ({ rule: rule - 1, values }))
      .sort((a, b) => a.rule - b.rule);
    return {
      ...(forgotten.length ? { forgotten } : {}),
      fired: asArray<WireFired>(result.fired).map((f) => {
        const fired: FiredState = {
          rule: f.r - 1,
          event: f.e - 1,
          group: f.g,
          span: f.b,
          windowStart: f.ws,
          windowEnd: f.we,
          count: f.c,
          eventIds: asArray<string>(f.ids),
        };
        if (f.ch !== undefined) fired.chain = asArray<unknown>(f.ch).map((ids) => asArray<string>(ids));
        if (f.val !== undefined) fired.value = f.val;
        if (f.ls !== undefined) fired.lastSeen = f.ls;
        return fired;
      }),
      late: asArray<[number, number]>(result.late).map(([rule, event]) => ({ rule: rule - 1, event: event - 1 })),
      duplicates: Number(result.duplicates ?? 0),
    };
  }

  async advance(source: string, mark: SourceMark): Promise<SourceProgress> {
    const raw = await ADVANCE.run(
      this.redis,
      [this.keyspace.key("src:seq")],
      [this.keyspace.key(""), source, JSON.stringify(mark)],
    );
    const applied = JSON.parse(String(raw)) as { seq: number; delivered?: number; bound?: number };
    return {
      seq: applied.seq,
      ...(applied.delivered !== undefined ? { delivered: applied.delivered } : {}),
      ...(applied.bound !== undefined ? { bound: applied.bound } : {}),
    };
  }
}
