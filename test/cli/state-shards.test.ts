import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { claimStateShards, recordedStateShards, StateShardsMismatchError } from "@vigil/engine";
import { runCli } from "../cli.js";
import { REDIS_URL, useRedis } from "../helpers.js";

const { redis, keyspace } = useRedis();

describe("rule-state shards are fixed for a deployment's life", () => {
  it("are recorded at the first claim and refused when the config changes them", async () => {
    const space = keyspace();
    expect(await recordedStateShards(redis, space, 5)).toBe(5);
    expect(await claimStateShards(redis, space, 4)).toBe(4);
    expect(await claimStateShards(redis, space, 4)).toBe(4);
    expect(await recordedStateShards(redis, space, 1)).toBe(4);
    const refused = await claimStateShards(redis, space, 8).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StateShardsMismatchError);
    expect((refused as Error).message).toContain(
      "engine.stateShards is 8, but the rule state in this Redis was laid out in 4 shard(s)",
    );
  });

  it("`vigil run engine` with another count exits 2 saying which count to set", { timeout: 120_000 }, async () => {
    const space = keyspace();
    await claimStateShards(redis, space, 3);
    const dir = mkdtempSync(join(tmpdir(), "vigil-state-shards-"));
    const config = join(dir, "vigil.config.yaml");
    writeFileSync(
      config,
      `redis: { url: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(space.prefix)} }\nrules: { paths: [rules] }\nengine: { stateShards: 12 }\n`,
    );
    const result = await runCli(["--config", config, "run", "engine", "--port", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      `vigil: engine.stateShards is 12, but the rule state in this Redis was laid out in 3 shard(s) ({${space.prefix}}:rs:shards): the shard count is fixed for a deployment's life. Set engine.stateShards: 3, or start afresh under another redis.prefix`,
    ]);
  });
});
