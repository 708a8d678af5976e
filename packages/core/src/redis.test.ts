import clusterKeySlot from "cluster-key-slot";
import RedisMock from "ioredis-mock";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisConfigSchema } from "./config.js";
import { deleteKeyspace, Keyspace, redactUrl } from "./redis.js";

describe("keyspace", () => {
  it("puts every key under the prefix's hash tag", () => {
    const keyspace = new Keyspace("vigil");
    expect(keyspace.key("win", "abc", 3)).toBe("{vigil}:win:abc:3");
    expect(keyspace.queuePrefix).toBe("{vigil}");
  });

  it("deletes its own keys and nothing else", async () => {
    const redis = new RedisMock() as unknown as Redis;
    const mine = new Keyspace("mine");
    await redis.set(mine.key("a"), "1");
    await redis.zadd(mine.key("b", "z"), 1, "x");
    await redis.set("{other}:a", "1");
    await redis.set("mine:not-tagged", "1");
    expect(await deleteKeyspace(redis, mine)).toBe(2);
    expect((await redis.keys("*")).sort()).toEqual(["mine:not-tagged", "{other}:a"]);
  });

  it("never shows a password in a URL it reports", () => {
    expect(redactUrl("redis://user:s3cret@cache:6380/2")).toBe("redis://user:***@cache:6380/2");
    expect(redactUrl("not a url")).toBe("<invalid url>");
  });
});

describe("the redis config section", () => {
  const problems = (redis: unknown) => {
    const result = RedisConfigSchema.safeParse(redis);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  };

  it("takes a URL, a cluster's seed nodes or Sentinels, each with what it needs", () => {
    expect(RedisConfigSchema.parse({})).toEqual({ url: "redis://127.0.0.1:6379", prefix: "vigil" });
    expect(problems({ url: "rediss://cache:6380", tls: { caFile: "/ca.crt", servername: "cache.internal" } })).toEqual(
      [],
    );
    expect(
      problems({ cluster: { nodes: ["10.0.0.1:6379", "[::1]:7000", "redis-0.redis:6379"], password: "p" } }),
    ).toEqual([]);
    expect(RedisConfigSchema.parse({ sentinel: { sentinels: ["s:26379"], masterName: "m" } }).sentinel).toEqual({
      sentinels: ["s:26379"],
      masterName: "m",
      sentinelTls: false,
      db: 0,
    });
  });

  it("names what is wrong: both modes, a URL beside one, TLS on redis://, half a client certificate, a node without a port", () => {
    expect(problems({ cluster: { nodes: ["a:1"] }, sentinel: { sentinels: ["b:2"], masterName: "m" } })).toEqual([
      "sentinel: set cluster or sentinel, not both",
    ]);
    expect(problems({ url: "redis://elsewhere:6379", cluster: { nodes: ["a:1"] } })).toEqual([
      "url: url is unused with cluster: remove it (credentials go in cluster.password)",
    ]);
    expect(problems({ url: "redis://cache:6379", tls: { caFile: "/ca.crt" } })).toEqual([
      "tls: tls needs a rediss:// url (TLS on)",
    ]);
    expect(problems({ url: "rediss://cache:6379", tls: { certFile: "/c.crt" } })).toEqual([
      "tls: certFile and keyFile go together (a client certificate and its key)",
    ]);
    expect(problems({ cluster: { nodes: ["redis-0"] } })).toEqual([
      "cluster.nodes.0: expected host:port, e.g. 10.0.0.5:6379",
    ]);
  });
});

describe("Keyspace.shard", () => {
  it("gives each of the shards a tag of its own whose slot lies in its part of the slot space", () => {
    const keyspace = new Keyspace("vigil");
    expect(keyspace.shard(0, 1)).toBe(keyspace);
    for (const count of [2, 3, 12, 48]) {
      const tags = Array.from({ length: count }, (_, k) => keyspace.shard(k, count).tag);
      expect(new Set(tags).size).toBe(count);
      tags.forEach((tag, k) => {
        expect(tag).toMatch(new RegExp(`^\\{vigil:s${k}(-\\d+)?\\}$`));
        const slot = clusterKeySlot(tag.slice(1, -1));
        expect(slot).toBeGreaterThanOrEqual(Math.floor((k * 16_384) / count));
        expect(slot).toBeLessThan(Math.floor(((k + 1) * 16_384) / count));
        // The same tag every time, in every process: it is derived from the prefix, k and count alone.
        expect(keyspace.shard(k, count).tag).toBe(tag);
      });
    }
  });
});
