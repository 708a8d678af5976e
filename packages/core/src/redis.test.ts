import RedisMock from "ioredis-mock";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
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
