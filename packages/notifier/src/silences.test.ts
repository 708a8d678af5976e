import { randomUUID } from "node:crypto";
import { createRedis, deleteKeyspace, Keyspace, parseAlertMatcher } from "@vigil/core";
import { afterAll, describe, expect, it } from "vitest";
import { SilenceInputError, SilenceStore } from "./silences.js";
import { makeAlert } from "./testing/alert.fixture.js";
import { rejectionOf } from "./testing/rejection.js";

const redis = createRedis("redis://127.0.0.1:6379");
const keyspace = new Keyspace(`test-${randomUUID()}`);
afterAll(async () => {
  await deleteKeyspace(redis, keyspace);
  await redis.quit();
});

const CONFIG_SILENCES = [
  {
    match: [parseAlertMatcher("provider=pylon")],
    reason: "sandbox",
    author: "config",
    startsAt: "2026-05-01T00:00:00.000Z",
    endsAt: "2026-05-02T00:00:00.000Z",
  },
];

describe("SilenceStore", () => {
  const store = new SilenceStore(redis, keyspace, CONFIG_SILENCES);
  const at = (iso: string) => new Date(iso);

  it("refuses a silence without a reason, without an expiry, with both expiries, a past one or a bad matcher", async () => {
    const cases: [Parameters<SilenceStore["add"]>[0], RegExp][] = [
      [{ match: ["ruleId=a"], forMs: 60_000 }, /needs a reason/],
      [{ match: ["ruleId=a"], forMs: 60_000, reason: "   " }, /needs a reason/],
      [{ match: ["ruleId=a"], reason: "r" }, /needs an expiry: --for <duration>/],
      [{ match: ["ruleId=a"], reason: "r", forMs: 1, until: "2030-01-01T00:00:00Z" }, /needs an expiry/],
      [{ match: ["ruleId=a"], reason: "r", until: "2000-01-01T00:00:00Z" }, /not in the future/],
      [{ match: ["ruleId=a"], reason: "r", until: "tomorrow" }, /not an ISO-8601 time/],
      [{ match: [], reason: "r", forMs: 1 }, /at least one --match/],
      [{ match: ["ruleId=~(a"], reason: "r", forMs: 1 }, /--match "ruleId=~\(a": invalid regex/],
    ];
    for (const [input, message] of cases) {
      const err = await rejectionOf(store.add(input));
      expect(err).toBeInstanceOf(SilenceInputError);
      expect(err.message).toMatch(message);
    }
    expect(await store.list()).toHaveLength(1);
  });

  it("silences alerts raised while active whose every matcher holds; an expired silence stops at its expiry", async () => {
    const silence = await store.add(
      { match: ["ruleId=~okta\\..*", "actor.id!=u-admin"], forMs: 2 * 3_600_000, reason: "migration", author: "ana" },
      at("2026-06-01T10:00:00Z"),
    );
    expect(silence).toMatchObject({
      author: "ana",
      reason: "migration",
      endsAt: "2026-06-01T12:00:00.000Z",
      origin: "cli",
    });
    const raised = (iso: string, ruleId = "okta.login", actor = "u-1") =>
      makeAlert({ ruleId, createdAt: iso, groupKey: { "actor.id": actor } });

    expect(await store.silencing(raised("2026-06-01T09:59:59Z"))).toBeUndefined();
    expect((await store.silencing(raised("2026-06-01T10:30:00Z")))?.id).toBe(silence.id);
    expect(await store.silencing(raised("2026-06-01T10:30:00Z", "pylon.login"))).toBeUndefined();
    expect(await store.silencing(raised("2026-06-01T10:30:00Z", "okta.login", "u-admin"))).toBeUndefined();
    expect(await store.silencing(raised("2026-06-01T12:00:00Z"))).toBeUndefined();

    await store.expire(silence.id, at("2026-06-01T11:00:00Z"));
    expect((await store.silencing(raised("2026-06-01T10:59:00Z")))?.id).toBe(silence.id);
    expect(await store.silencing(raised("2026-06-01T11:00:01Z"))).toBeUndefined();
    expect(await store.expire("no-such-id")).toBeUndefined();
  });

  it("applies config silences between their times, under an id that does not change", async () => {
    const alert = (iso: string) => makeAlert({ provider: "pylon", createdAt: iso });
    const id = (await store.silencing(alert("2026-05-01T12:00:00Z")))?.id;
    expect(id).toMatch(/^config-[0-9a-f]{12}$/);
    expect(await store.silencing(alert("2026-05-02T00:00:00Z"))).toBeUndefined();
    // Another replica (or a restart) reading the same config names it alike.
    const replica = new SilenceStore(redis, keyspace, CONFIG_SILENCES);
    expect((await replica.list())[0]).toMatchObject({ id, origin: "config", reason: "sandbox" });
  });
});
