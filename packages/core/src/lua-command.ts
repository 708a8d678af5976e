import type { RedisClient } from "./redis.js";

/**
 * A Lua script run as an ioredis custom command (`defineCommand`): ioredis sends EVALSHA and
 * falls back to EVAL when a server does not know the script yet. The one way Vigil runs Lua.
 */
export class LuaCommand {
  /**
   * @param name unique command name (prefer a `vigil` prefix); defined once per connection.
   * @param numberOfKeys how many of the arguments to `run` are keys (KEYS[1..n]).
   * @param lua the script.
   */
  constructor(
    readonly name: string,
    readonly numberOfKeys: number,
    readonly lua: string,
  ) {}

  /** Runs the script on `redis` (defining it there first if needed) with KEYS and ARGV. */
  run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (keys.length !== this.numberOfKeys)
      throw new Error(`${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
    if (!(this.name in redis)) redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
    const command = (redis as unknown as Record<string, (...params: (string | number)[]) => Promise<unknown>>)[
      this.name
    ];
    if (!command) throw new Error(`${this.name}: not defined on this connection`);
    return command.call(redis, ...keys, ...args);
  }
}
