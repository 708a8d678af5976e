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

/** The Redis store's options: the shared ones, and how many shards its state is spread over. */
export interface RedisRuleStateOptions extends RuleStateOptions {
  /**
   * Rule-state shards (default 1): each rule and group's state lives in shard
   * `shardOfState(storage key, group, shards)`, under the hash tag `{prefix:s<k>}` (one shard: the
   * keyspace's own tag), so on a Redis Cluster the shards spread over the primaries. Fixed for a
   * keyspace's life (see claimStateShards).
   */
  shards?: number;
}

/** FNV-1a of the rule state's storage key and group, modulo the shard count: stable across processes. */
export function shardOfState(storageKey: string, group: string, shards: number): number {
  if (shards === 1) return 0;
  let hash = 0x811c9dc5;
  const text = `${storageKey}\u0000${group}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Where a rule's state is stored: rules counting one stream (threshold) share the stream's key. */
function storageKeyOf(rule: RuleStateRule): string {
  return typeof rule.params.stream === "string" ? rule.params.stream : rule.key;
}

/** One shard's part of a batch, with the way back to the batch's rule and event indices. */
interface ShardPart {
  shard: number;
  batch: RuleStateBatch;
  /** The part's rule index -> the batch's. */
  rules: number[];
  /** The part's event index -> the batch's. */
  events: number[];
}

/** Splits a batch's updates by the shard of their rule and group; one shard gets the batch as it is. */
function splitByShard(batch: RuleStateBatch, shards: number): ShardPart[] {
  if (shards === 1)
    return [{ shard: 0, batch, rules: batch.rules.map((_, i) => i), events: batch.eventIds.map((_, i) => i) }];
  const storageKeys = batch.rules.map(storageKeyOf);
  const parts = new Map<number, ShardPart & { ruleIndex: Map<number, number>; eventIndex: Map<number, number> }>();
  for (const update of batch.updates) {
    const shard = shardOfState(storageKeys[update.rule]!, update.group, shards);
    let part = parts.get(shard);
    if (part === undefined) {
      part = {
        shard,
        batch: { ...batch, eventIds: [], rules: [], updates: [] },
        rules: [],
        events: [],
        ruleIndex: new Map(),
        eventIndex: new Map(),
      };
      parts.set(shard, part);
    }
    let rule = part.ruleIndex.get(update.rule);
    if (rule === undefined) {
      rule = part.rules.push(update.rule) - 1;
      part.ruleIndex.set(update.rule, rule);
      part.batch.rules.push(batch.rules[update.rule]!);
    }
    let event = part.eventIndex.get(update.event);
    if (event === undefined) {
      event = part.events.push(update.event) - 1;
      part.eventIndex.set(update.event, event);
      part.batch.eventIds.push(batch.eventIds[update.event]!);
    }
    part.batch.updates.push({ ...update, rule, event });
  }
  return [...parts.values()].sort((a, b) => a.shard - b.shard);
}

/**
 * Rule state in Redis: each batch is one atomic call of the composed rule-state script per shard
 * it touches (one call with one shard), sent together; a watermark call is one call per shard.
 */
export class RedisRuleStateStore implements RuleStateStore {
  private readonly shards: Keyspace[];

  constructor(
    private readonly redis: RedisClient,
    keyspace: Keyspace,
    private readonly options: RedisRuleStateOptions,
  ) {
    this.shards = keyspace.shards(options.shards ?? 1);
  }

  private async run(resultKey: string, payload: string, data: readonly string[] = []): Promise<string> {
    return String(await RULE_STATE.run(this.redis, [resultKey], [payload, ...data]));
  }

  /**
   * A batch's payload for the script, written out directly (the hot path's one large string):
   * Lua indexes from 1, groups are sent once and referred to by position, and each rule's
   * parameters are serialized once per compiled rule. An update's data (an event's JSON, the
   * largest part) goes as an argument of its own, by position: neither side escapes it again.
   */
  private batchPayload(space: Keyspace, batch: RuleStateBatch): { payload: string; data: string[] } {
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
      prefix: space.key(""),
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
    // Each shard's call commits on its own and keeps its result under the batch's id in its shard:
    // a retried batch gets back what committed and applies the rest.
    const parts = splitByShard(batch, this.shards.length);
    const results = await Promise.all(
      parts.map(async (part) => {
        const space = this.shards[part.shard]!;
        const { payload, data } = this.batchPayload(space, part.batch);
        const raw = await this.run(space.key("batch", batch.batchId), payload, data);
        return JSON.parse(raw) as { fired?: unknown; late?: unknown; duplicates?: unknown; forgotten?: unknown };
      }),
    );
    const fired: FiredState[] = [];
    let late: RuleStateResult["late"] = [];
    const duplicateEvents = new Set<number>();
    let duplicateCount = 0;
    const forgotten = new Map<number, number>();
    results.forEach((result, i) => {
      const part = parts[i]!;
      for (const f of asArray<WireFired>(result.fired)) {
        const state = toFired(f);
        fired.push({ ...state, rule: part.rules[state.rule]!, event: part.events[state.event]! });
      }
      for (const [rule, event] of asArray<[number, number]>(result.late))
        late.push({ rule: part.rules[rule - 1]!, event: part.events[event - 1]! });
      // A result cached by an earlier version counts its duplicates; this one lists them.
      if (typeof result.duplicates === "number") duplicateCount += result.duplicates;
      else for (const event of asArray<number>(result.duplicates)) duplicateEvents.add(part.events[event - 1]!);
      for (const [rule, values] of asArray<[number, number]>(result.forgotten)) {
        const batchRule = part.rules[rule - 1]!;
        forgotten.set(batchRule, (forgotten.get(batchRule) ?? 0) + values);
      }
    });
    // Shards answer in shard order: late updates go back to the batch's order, alerts to the order
    // of their triggering events (then rules), whatever the shard count.
    if (parts.length > 1) {
      const position = new Map(batch.updates.map((u, i) => [`${u.rule}:${u.event}`, i]));
      late = late.sort((a, b) => position.get(`${a.rule}:${a.event}`)! - position.get(`${b.rule}:${b.event}`)!);
      fired.sort((a, b) => a.event - b.event || a.rule - b.rule);
    }
    return {
      ...(forgotten.size
        ? { forgotten: [...forgotten].map(([rule, values]) => ({ rule, values })).sort((a, b) => a.rule - b.rule) }
        : {}),
      fired,
      late,
      duplicates: duplicateEvents.size + duplicateCount,
    };
  }

  async advance(source: string, mark: SourceMark, options: AdvanceOptions = {}): Promise<AdvanceResult> {
    const id = options.id ?? randomUUID();
    const results = await Promise.all(this.shards.map((space) => this.advanceShard(space, source, mark, id, options)));
    // Every shard applies every mark, so they agree on the progress once each has; the lowest is
    // the one all have reached.
    const progress = results.map((r) => r.progress).sort((a, b) => a.seq - b.seq)[0]!;
    return {
      progress,
      fired: results.flatMap((r) => r.fired),
      ...(results.some((r) => r.more) ? { more: true } : {}),
    };
  }

  private async advanceShard(
    space: Keyspace,
    source: string,
    mark: SourceMark,
    id: string,
    options: AdvanceOptions,
  ): Promise<AdvanceResult> {
    const payload = {
      prefix: space.key(""),
      batchTtl: this.options.batchTtlMs ?? DEFAULT_BATCH_TTL_MS,
      maxIds: this.options.maxEventIds,
      budget: this.options.decisionBudget ?? DEFAULT_DECISION_BUDGET,
      advance: { source, mark },
    };
    const rules = `[${(options.rules ?? []).map(ruleJson).join(",")}]`;
    const raw = await this.run(
      space.key("batch", `advance:${id}`),
      `${JSON.stringify(payload).slice(0, -1)},"rules":${rules}}`,
    );
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
    await Promise.all(
      this.shards.map((space) => this.redis.hset(space.key("src:r"), source, JSON.stringify({ seq, at }))),
    );
  }

  async sources(): Promise<SourceStatus[]> {
    const finite = (value: string | undefined) => {
      const n = Number(value);
      return value !== undefined && Number.isFinite(n) ? n : undefined;
    };
    // Per source, the shard furthest behind (lowest seq): what every shard has reached.
    const statuses = new Map<string, SourceStatus>();
    for (const space of this.shards) {
      const [delivered, bounds, seqs, at] = await Promise.all(
        ["src:d", "src:b", "src:seq", "src:at"].map((part) => this.redis.hgetall(space.key(part))),
      );
      for (const source of Object.keys(delivered ?? {})) {
        const d = finite(delivered?.[source]);
        const b = finite(bounds?.[source]);
        const status: SourceStatus = {
          source,
          seq: finite(seqs?.[source]) ?? 0,
          ...(d === undefined ? {} : { delivered: d }),
          ...(b === undefined ? {} : { bound: b }),
          advancedAt: finite(at?.[source]) ?? 0,
        };
        const known = statuses.get(source);
        if (known === undefined || status.seq < known.seq) statuses.set(source, status);
      }
    }
    return [...statuses.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  }
}
