import { type Keyspace, type RedisClient, VigilError } from "@vigil/core";

/** The config's rule-state shard count differs from the one this keyspace's state was laid out in. */
export class StateShardsMismatchError extends VigilError {
  constructor(recorded: number, configured: number, key: string) {
    super(
      "STATE_SHARDS_MISMATCH",
      `engine.stateShards is ${configured}, but the rule state in this Redis was laid out in ${recorded} shard(s) (${key}): ` +
        `the shard count is fixed for a deployment's life. Set engine.stateShards: ${recorded}, or start afresh under another redis.prefix`,
      { recorded, configured, key },
    );
  }
}

/**
 * Records the rule-state shard count at the engine's first start and checks it afterwards: state
 * laid out in V shards is only found again with V. Returns the count.
 */
export async function claimStateShards(redis: RedisClient, keyspace: Keyspace, configured: number): Promise<number> {
  const key = keyspace.key("rs:shards");
  await redis.set(key, String(configured), "NX");
  const recorded = Number(await redis.get(key));
  if (recorded !== configured) throw new StateShardsMismatchError(recorded, configured, key);
  return recorded;
}

/** The shard count recorded for this keyspace (commands that read state: status, sources reset), else the config's. */
export async function recordedStateShards(redis: RedisClient, keyspace: Keyspace, configured: number): Promise<number> {
  const recorded = Number(await redis.get(keyspace.key("rs:shards")));
  return Number.isInteger(recorded) && recorded >= 1 ? recorded : configured;
}
