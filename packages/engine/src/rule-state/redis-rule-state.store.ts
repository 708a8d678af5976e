import { randomUUID } from "node:crypto";
import type { RedisClient } from "@vigil/core";
import { LuaCommand, type Keyspace, type SourceMark } from "@vigil/core";
import {
  DEFAULT_BATCH_TTL_MS,
  type AdvanceOptions,
  type AdvanceResult,
  type SourceStatus,
  type FiredState,
  type RuleStateBatch,
  type RuleStateOptions,
  type RuleStateResult,
  type RuleStateRule,
  type RuleStateStore,
} from "./rule-state.store.js";
import { ruleStateScript } from "./rule-state.script.js";

/** The composed rule-state script: KEYS[1] is where a call's result is kept (a retried job gets it back). */
const RULE_STATE = new LuaCommand("vigilRuleState", 1, ruleStateScript());

/** Due decisions (and held groups released) per watermark call; the engine calls again for the rest. */
export const DEFAULT_DECISION_BUDGET = 250;

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
  d?: string;
}

/** A rule's part of a payload; its parameters object lives as long as its compiled rule. */
const ruleJsonOf = new WeakMap<object, Map<string, string>>();
function ruleJson(rule: RuleStateRule): string {
  let byKey = ruleJsonOf.get(rule.params);
  if (byKey === undefined) {
    byKey = new Map();
    ruleJsonOf.set(rule.params, byKey);
  }
  let json = byKey.get(rule.key);
  if (json === undefined) {
    json = JSON.stringify({ ...rule.params, kind: rule.kind, key: rule.key });
    byKey.set(rule.key, json);
  }
  return json;
}

/** A number as JSON writes it (non-finite numbers become null, as JSON.stringify makes them). */
const jsonNumber = (n: number) => (Number.isFinite(n) ? String(n) : "null");

const asArray = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

function toFired(f: WireFired): FiredState {
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
  if (f.d !== undefined) fired.data = f.d;
  return fired;
}

/** Rule state in Redis: each batch is one atomic call of the composed rule-state script. */
export class RedisRuleStateStore implements RuleStateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    private readonly options: RuleStateOptions,
  ) {}

  private async run(resultKey: string, payload: string, data: readonly string[] = []): Promise<string> {
    return String(await RULE_STATE.run(this.redis, [resultKey], [payload, ...data]));
  }

  /**
   * A batch's payload for the script, written out directly (the hot path's one large string):
   * Lua indexes from 1, groups are sent once and referred to by position, and each rule's
   * parameters are serialized once per compiled rule. An update's data (an event's JSON, the
   * largest part) goes as an argument of its own, by position: neither side escapes it again.
   */
  private batchPayload(batch: RuleStateBatch): { payload: string; data: string[] } {
    const groups = new Map<string, number>();
    const updates: string[] = [];
    const data: string[] = [];
    for (const u of batch.updates) {
      let group = groups.get(u.group);
      if (group === undefined) {
        group = groups.size + 1;
        groups.set(u.group, group);
      }
      let update = `{"r":${u.rule + 1},"e":${u.event + 1},"g":${group},"t":${jsonNumber(u.time)}`;
      if (u.lag !== undefined) update += `,"l":${jsonNumber(u.lag)}`;
      if (u.value !== undefined) update += `,"v":${JSON.stringify(u.value)}`;
      if (u.steps !== undefined) update += `,"s":[${u.steps.map((step) => step + 1).join(",")}]`;
      if (u.data !== undefined) update += `,"d":${data.push(u.data)}`;
      updates.push(`${update}}`);
    }
    const head = JSON.stringify({
      prefix: this.keyspace.key(""),
      seenTtl: this.options.seenTtlMs,
      batchTtl: this.options.batchTtlMs ?? DEFAULT_BATCH_TTL_MS,
      maxIds: this.options.maxEventIds,
      ...(batch.sources?.length ? { sources: batch.sources } : {}),
    });
    const payload = `${head.slice(0, -1)},"eventIds":${JSON.stringify(batch.eventIds)},"groups":${JSON.stringify([...groups.keys()])},"rules":[${batch.rules.map(ruleJson).join(",")}],"updates":[${updates.join(",")}]}`;
    return { payload, data };
  }

  async apply(batch: RuleStateBatch): Promise<RuleStateResult> {
    if (batch.eventIds.length === 0) return { fired: [], late: [], duplicates: 0 };
    const { payload, data } = this.batchPayload(batch);
    const raw = await this.run(this.keyspace.key("batch", batch.batchId), payload, data);
    const result = JSON.parse(raw) as { fired?: unknown; late?: unknown; duplicates?: number; forgotten?: unknown };
    const forgotten = asArray<[number, number]>(result.forgotten)
      .map(([rule, values]) => ({ rule: rule - 1, values }))
      .sort((a, b) => a.rule - b.rule);
    return {
      ...(forgotten.length ? { forgotten } : {}),
      fired: asArray<WireFired>(result.fired).map(toFired),
      late: asArray<[number, number]>(result.late).map(([rule, event]) => ({ rule: rule - 1, event: event - 1 })),
      duplicates: Number(result.duplicates ?? 0),
    };
  }

  async advance(source: string, mark: SourceMark, options: AdvanceOptions = {}): Promise<AdvanceResult> {
    const payload = {
      prefix: this.keyspace.key(""),
      batchTtl: this.options.batchTtlMs ?? DEFAULT_BATCH_TTL_MS,
      maxIds: this.options.maxEventIds,
      budget: this.options.decisionBudget ?? DEFAULT_DECISION_BUDGET,
      rules: `[${(options.rules ?? []).map(ruleJson).join(",")}]`,
      advance: { source, mark },
    };
    const resultKey = this.keyspace.key("batch", `advance:${options.id ?? randomUUID()}`);
    const { rules, ...rest } = payload;
    const raw = await this.run(resultKey, `${JSON.stringify(rest).slice(0, -1)},"rules":${rules}}`);
    const result = JSON.parse(raw) as {
      progress: { seq: number; delivered?: number; bound?: number };
      fired?: unknown;
      more?: boolean;
    };
    const { seq, delivered, bound } = result.progress;
    return {
      progress: {
        seq,
        ...(delivered !== undefined ? { delivered } : {}),
        ...(bound !== undefined ? { bound } : {}),
      },
      fired: asArray<WireFired>(result.fired).map(toFired),
      ...(result.more ? { more: true } : {}),
    };
  }

  async capSource(source: string, seq: number, at: number): Promise<void> {
    await this.redis.hset(this.keyspace.key("src:r"), source, JSON.stringify({ seq, at }));
  }

  async sources(): Promise<SourceStatus[]> {
    const [delivered, bounds, seqs, at] = await Promise.all(
      ["src:d", "src:b", "src:seq", "src:at"].map((part) => this.redis.hgetall(this.keyspace.key(part))),
    );
    const finite = (value: string | undefined) => {
      const n = Number(value);
      return value !== undefined && Number.isFinite(n) ? n : undefined;
    };
    return Object.keys(delivered ?? {})
      .sort()
      .map((source) => {
        const d = finite(delivered?.[source]);
        const b = finite(bounds?.[source]);
        return {
          source,
          seq: finite(seqs?.[source]) ?? 0,
          ...(d === undefined ? {} : { delivered: d }),
          ...(b === undefined ? {} : { bound: b }),
          advancedAt: finite(at?.[source]) ?? 0,
        };
      });
  }
}
