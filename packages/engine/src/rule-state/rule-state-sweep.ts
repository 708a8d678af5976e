import {
  globPrefix,
  scanKeys,
  silentLogger,
  type Keyspace,
  type Logger,
  type Metrics,
  type RedisClient,
} from "@vigil/core";

/** What one sweep forgot. */
export interface SweepResult {
  /** Keys deleted. */
  keys: number;
  /** State keys whose rule is gone (removed, or edited so that its state key changed). */
  rules: string[];
  /** Sources no longer configured whose progress was forgotten. */
  sources: string[];
}

/**
 * Every key the engine writes carries a TTL or is owned by something that deletes it. Rule state
 * that waits on decisions (absence deadlines and anchors, newValue candidates, the groups they keep
 * without a TTL) is owned by its rule: each engine marks the state keys of its rule set live, and
 * once a state key has not been marked for the grace period (its rule removed, or edited so that
 * its key changed, on every engine), the sweep deletes what it owns. A source's progress (its
 * watermark, marks, reset cap) is owned by the configuration: once a source has been out of it for
 * the grace period, its progress is forgotten, and with it the seq of its marks on the connector's
 * side, so that a source configured again starts both from mark 1.
 */
export class RuleStateSweeper {
  private readonly logger: Logger;
  private readonly shards: Keyspace[];

  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    private readonly options: {
      graceMs: number;
      logger?: Logger;
      metrics?: Metrics;
      /** The rule-state shards the store spreads state over (RedisRuleStateOptions.shards; default 1). */
      shards?: number;
    },
  ) {
    this.logger = options.logger ?? silentLogger;
    this.shards = keyspace.shards(options.shards ?? 1);
  }

  /** Marks the state keys of a loaded rule set (and the configured sources) as live now. */
  async markLive(
    stateKeys: readonly string[],
    sources: readonly string[] | undefined,
    nowMs = Date.now(),
  ): Promise<void> {
    const multi = this.redis.multi();
    if (stateKeys.length) multi.hset(this.keyspace.key("rs:live"), ...stateKeys.flatMap((key) => [key, nowMs]));
    if (sources?.length) multi.hdel(this.keyspace.key("src:gone"), ...sources);
    await multi.exec();
  }

  /** Deletes what rules gone for the grace period own, and forgets sources out of the config as long. */
  async sweep(sources: readonly string[] | undefined, nowMs = Date.now()): Promise<SweepResult> {
    const result: SweepResult = { keys: 0, rules: [], sources: [] };
    const lock = this.keyspace.key("rs:sweep-lock");
    if ((await this.redis.set(lock, String(nowMs), "PX", 60_000, "NX")) !== "OK") return result;
    try {
      const liveKey = this.keyspace.key("rs:live");
      const before = nowMs - this.options.graceMs;
      const live = await this.redis.hgetall(liveKey);
      for (const [stateKey, at] of Object.entries(live)) {
        if (Number(at) >= before) continue;
        // Everything under the state key in every shard: what its pending decisions own (no TTL) and
        // the rest. On a cluster, every master is scanned: a key of the rule's may sit on any of them.
        for (const shard of this.shards)
          await scanKeys(this.redis, globPrefix(`${shard.key(`rs:${stateKey}`)}:`), async (keys) => {
            result.keys += await this.redis.unlink(...keys);
          });
        await this.redis.hdel(liveKey, stateKey);
        result.rules.push(stateKey);
      }
      if (sources) result.sources = await this.forgetSources(new Set(sources), nowMs);
      if (result.keys) this.options.metrics?.ruleStateKeysSwept.inc(result.keys);
      for (const stateKey of result.rules)
        this.logger.info(
          { stateKey, graceMs: this.options.graceMs },
          "rule state of a rule no engine loads any more was deleted",
        );
      for (const source of result.sources)
        this.logger.warn(
          { source, graceMs: this.options.graceMs },
          "source is no longer configured: its watermark progress is forgotten (rules no longer wait for it)",
        );
      return result;
    } finally {
      await this.redis.del(lock);
    }
  }

  private async forgetSources(configured: Set<string>, nowMs: number): Promise<string[]> {
    const gone = this.keyspace.key("src:gone");
    const known = new Set<string>();
    for (const shard of this.shards) for (const source of await this.redis.hkeys(shard.key("src:d"))) known.add(source);
    const forgotten: string[] = [];
    for (const source of [...known].sort()) {
      if (configured.has(source)) continue;
      await this.redis.hsetnx(gone, source, nowMs);
      const since = Number(await this.redis.hget(gone, source));
      if (nowMs - since < this.options.graceMs) continue;
      // Each shard's progress in one transaction (one slot each).
      for (const shard of this.shards)
        await this.redis
          .multi()
          .hdel(shard.key("src:d"), source)
          .hdel(shard.key("src:b"), source)
          .hdel(shard.key("src:seq"), source)
          .hdel(shard.key("src:at"), source)
          .hdel(shard.key("src:r"), source)
          .del(shard.key(`src:pending:${source}`))
          .exec();
      await this.redis
        .multi()
        // The connector's side of the mark seqs (runtime/source-delivery.ts): both start again from 1.
        .del(this.keyspace.key("source", source, "delivery"))
        .hdel(gone, source)
        .exec();
      forgotten.push(source);
    }
    return forgotten;
  }
}
