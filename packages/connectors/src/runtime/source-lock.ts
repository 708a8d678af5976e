import { randomUUID } from "node:crypto";
import { LuaCommand } from "@vigil/core";
import type { RedisClient } from "@vigil/core";

const RENEW_SCRIPT = new LuaCommand(
  "vigilLockRenew",
  1,
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`,
);

const RELEASE_SCRIPT = new LuaCommand(
  "vigilLockRelease",
  1,
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);

/** Writes KEYS[2] only while KEYS[1] still holds our token, so a pull that lost its lock cannot move the checkpoint. */
const SET_WHILE_HELD_SCRIPT = new LuaCommand(
  "vigilLockSetWhileHeld",
  2,
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`,
);

/** A Redis lease held by one pull at a time across replicas (SET NX PX with a random token). */
export class SourceLock {
  private constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly token: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lock, or returns undefined when someone else holds it. */
  static async acquire(redis: RedisClient, key: string, ttlMs: number): Promise<SourceLock | undefined> {
    const token = randomUUID();
    const reply = await redis.set(key, token, "PX", ttlMs, "NX");
    return reply === "OK" ? new SourceLock(redis, key, token, ttlMs) : undefined;
  }

  /** Extends the lease; false when it has already been lost. */
  async renew(): Promise<boolean> {
    return Number(await RENEW_SCRIPT.run(this.redis, [this.key], [this.token, this.ttlMs])) === 1;
  }

  /** Gives the lock up if it is still ours (compare-and-delete). */
  async release(): Promise<void> {
    await RELEASE_SCRIPT.run(this.redis, [this.key], [this.token]);
  }

  /** Sets `key` to `value` only while the lock is still ours; false when it was lost. */
  async setWhileHeld(key: string, value: string): Promise<boolean> {
    return Number(await SET_WHILE_HELD_SCRIPT.run(this.redis, [this.key, key], [this.token, value])) === 1;
  }
}
