import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_ALERT_EVENT_IDS, type AuditEvent } from "@vigil/core";
import {
  Engine,
  parseRules,
  RedisRuleStateStore,
  RuleStateSweeper,
  SOURCE_BLIND_RULE_ID,
  type LoadedRule,
  type SourceIdentity,
} from "@vigil/engine";
import { event, useRedis, keysMatching } from "../helpers.js";

// The scenarios of the live-equals-replay issue, each at the engine: a quiet source of another
// provider holds nothing back, a pending decision's state does not expire by the wall clock, a
// reset moves the watermark back before the re-read, and every key either expires or is owned.

const { redis, keyspace } = useRedis();
const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse("2026-03-01T10:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();

function load(yaml: string): LoadedRule[] {
  const { rules, problems } = parseRules(yaml, "watermarks.yaml");
  expect(problems).toEqual([]);
  return rules;
}

const store = (space = keyspace()) =>
  new RedisRuleStateStore(redis, space, { seenTtlMs: HOUR, maxEventIds: MAX_ALERT_EVENT_IDS });

const NEW_IP = `id: bh.new-ip
name: New IP for a BloodHound user
severity: medium
when: { "==": [{ var: provider }, bloodhound] }
newValue: { groupBy: [actor.id], fields: [ip], learning: 0, forgetAfter: 1d }
lateness: 5m
`;

const TOKEN = `id: zd.token-not-reviewed
name: Token not reviewed
severity: medium
when: { and: [{ "==": [{ var: provider }, zendesk] }, { "==": [{ var: target.type }, apitoken] }] }
absence: { groupBy: [target.id], after: { "==": [{ var: action }, create] }, expect: { "==": [{ var: action }, update] }, within: 1h }
lateness: 5m
`;

const bh = (id: string, minutes: number, ip: string) =>
  event({ id, time: at(minutes), source: "bh", provider: "bloodhound", actor: { id: "ann" }, ip });
const zd = (id: string, minutes: number, action: string, token = "7") =>
  event({ id, time: at(minutes), source: "zd", provider: "zendesk", action, target: { type: "apitoken", id: token } });

async function deliver(engine: Engine, source: string, seq: number, events: AuditEvent[]) {
  const outcome = await engine.processBatch(events, randomUUID(), { sources: [source] });
  const marked = await engine.advance(source, {
    seq,
    delivered: Math.max(...events.map((e) => Date.parse(e.time))),
  });
  return [...outcome.alerts, ...marked.alerts];
}

describe("watermarks over the sources a rule can read", () => {
  it("a quiet Pylon source holds back no BloodHound newValue rule; a rule that reads every source waits for its bound", async () => {
    const sources: SourceIdentity[] = [
      { name: "bh", provider: "bloodhound" },
      { name: "py", provider: "pylon" },
    ];
    const everyProvider = load(
      `${NEW_IP.replace("bh.new-ip", "any.new-ip").replace('{ "==": [{ var: provider }, bloodhound] }', "true")}`,
    );
    const engine = new Engine([...load(NEW_IP), ...everyProvider], store(), { sources });
    // Pylon sent one page long ago, then nothing.
    await deliver(engine, "py", 1, [event({ id: "p1", time: at(-600), source: "py", provider: "pylon" })]);
    const alerts = [
      ...(await deliver(engine, "bh", 1, [bh("b1", 0, "10.0.0.1"), bh("b2", 10, "10.0.0.2")])),
      ...(await deliver(engine, "bh", 2, [bh("b3", 60, "10.0.0.3")])),
    ];
    expect(alerts.filter((a) => a.ruleId === "bh.new-ip").map((a) => a.eventIds[0])).toEqual(["b1", "b2", "b3"]);
    // The rule reading every source waits for Pylon's watermark; the end of its quiet feed moves it.
    expect(alerts.filter((a) => a.ruleId === "any.new-ip")).toEqual([]);
    const released = await engine.advance("py", { seq: 2, bound: T0 + 2 * HOUR });
    expect(released.alerts.map((a) => a.eventIds[0]).sort()).toEqual(["b1", "b2", "b3"]);
    void alerts;
  });

  it("source blind: only a source a waiting rule reads and whose watermark stopped; a quiet source whose bound moves is not blind", async () => {
    const sources: SourceIdentity[] = [
      { name: "bh", provider: "bloodhound" },
      { name: "py", provider: "pylon" },
    ];
    const engine = new Engine(load(NEW_IP), store(), { sources });
    await deliver(engine, "bh", 1, [bh("b1", 0, "10.0.0.1")]);
    await engine.advance("py", { seq: 1, bound: T0 });
    const later = Date.now() + 2 * HOUR;
    // Pylon is stale, but no rule that waits reads it; BloodHound is stale and read by bh.new-ip.
    const blind = await engine.blindSources(later, HOUR);
    expect(blind.map((a) => [a.ruleId, a.groupKey.source, a.groupKey.rules])).toEqual([
      [SOURCE_BLIND_RULE_ID, "bh", "bh.new-ip"],
    ]);
    // A quiet source whose bound keeps moving is not blind.
    await engine.advance("bh", { seq: 2, bound: T0 + HOUR });
    expect(await engine.blindSources(Date.now() + 30 * MIN, HOUR)).toEqual([]);
  });

  it("an absence decision's events do not expire while it is pending, whatever the wall clock does", async () => {
    const space = keyspace();
    const engine = new Engine(load(TOKEN), store(space), { sources: [{ name: "zd", provider: "zendesk" }] });
    // Created at 10:00, reviewed at 10:30; then the source stalls (no mark passes 11:00).
    await deliver(engine, "zd", 1, [zd("c1", 0, "create"), zd("u1", 30, "update")]);
    const groupKeys = await keysMatching(redis, `${space.tag}:rs:*:e`);
    expect(groupKeys).toHaveLength(1);
    // Held by event time: no TTL that could run out during the stall (it had one of ~3 hours).
    expect(await redis.pttl(groupKeys[0]!)).toBe(-1);
    // The watermark passes: reviewed within the hour, no alert; the group gets its TTL back.
    const decided = await engine.advance("zd", { seq: 2, bound: T0 + 2 * HOUR });
    expect(decided.alerts).toEqual([]);
    expect(await redis.pttl(groupKeys[0]!)).toBeGreaterThan(0);
  });

  it("a newValue candidate's state does not expire while it is pending", async () => {
    const space = keyspace();
    const engine = new Engine(load(NEW_IP), store(space), {
      sources: [
        { name: "bh", provider: "bloodhound" },
        { name: "bh-2", provider: "bloodhound" },
      ],
    });
    // bh-2 has not been heard of: every candidate waits.
    await deliver(engine, "bh", 1, [bh("b1", 0, "10.0.0.1")]);
    const keys = await keysMatching(redis, `${space.tag}:rs:*:*:[hfv]`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) expect(await redis.pttl(key), key).toBe(-1);
    const released = await engine.advance("bh-2", { seq: 1, bound: T0 + HOUR });
    expect(released.alerts).toHaveLength(1);
    for (const key of keys) expect(await redis.pttl(key), key).toBeGreaterThan(0);
  });

  it("pending decisions kept as an earlier version wrote them (JSON in rk:an and rk:nc) are decided as before", async () => {
    const space = keyspace();
    const sources: SourceIdentity[] = [
      { name: "zd", provider: "zendesk" },
      { name: "bh", provider: "bloodhound" },
      { name: "bh-2", provider: "bloodhound" },
    ];
    const engine = new Engine([...load(TOKEN), ...load(NEW_IP)], store(space), { sources });
    // Token 7 is never reviewed; b1 is a new IP whose verdict waits for bh-2.
    expect(await deliver(engine, "zd", 1, [zd("c1", 0, "create")])).toEqual([]);
    expect(await deliver(engine, "bh", 1, [bh("b1", 0, "10.0.0.1")])).toEqual([]);
    // Rewrite each pending entry as the previous version kept it: JSON in the hash beside the deadlines.
    for (const [suffix, hash] of [
      [":dl", ":an"],
      [":nd", ":nc"],
    ] as const) {
      const [key] = await keysMatching(redis, `${space.tag}:rs:*${suffix}`);
      const [member] = await redis.zrange(key!, 0, -1);
      const kept = await redis.hget(key!.replace(suffix, hash), member!);
      const [t, data] = kept!.split("\0") as [string, string];
      const [group, ...rest] = member!.split("|");
      const old =
        suffix === ":dl"
          ? { t: Number(t), g: group, d: data }
          : { t: Number(t), g: group, v: rest[0], id: rest.slice(1).join("|"), d: data };
      await redis.hset(key!.replace(suffix, hash), member!, JSON.stringify(old));
    }
    const absence = await engine.advance("zd", { seq: 2, bound: T0 + 2 * HOUR });
    expect(absence.alerts.map((a) => [a.ruleId, a.eventIds])).toEqual([["zd.token-not-reviewed", ["c1"]]]);
    const newValue = await engine.advance("bh-2", { seq: 1, bound: T0 + HOUR });
    expect(newValue.alerts.map((a) => [a.ruleId, a.eventIds])).toEqual([["bh.new-ip", ["b1"]]]);
    // The alerts carry the anchor's and the candidate's event as kept.
    expect(absence.alerts[0]!.events[0]?.id).toBe("c1");
    expect(newValue.alerts[0]!.evidence).toMatchObject({ kind: "newValue", value: { ip: "10.0.0.1" } });
    // Nothing is left pending.
    for (const part of ["dl", "an", "nd", "nc"])
      expect(await keysMatching(redis, `${space.tag}:rs:*:${part}`)).toEqual([]);
  });

  it("a reset moves the watermark back before the re-read: the re-read anchor waits for the page that answers it", async () => {
    const space = keyspace();
    const ruleStore = store(space);
    const engine = new Engine(load(TOKEN), ruleStore, { sources: [{ name: "zd", provider: "zendesk" }] });
    await deliver(engine, "zd", 1, [zd("x1", 0, "create", "1"), zd("x2", 5, "update", "1")]);
    await deliver(engine, "zd", 2, [zd("x3", 120, "create", "2"), zd("x4", 125, "update", "2")]);
    // `vigil sources reset zd --to 10:00` (the token c9 created at 10:10 was missed the first time):
    // the cap at once, then the reset mark in the source's seq order.
    await ruleStore.capSource("zd", 3, T0);
    expect((await engine.advance("zd", { seq: 3, reset: T0 })).alerts).toEqual([]);
    // The re-read: page one brings the creation, page two (the next mark) its review.
    const first = await deliver(engine, "zd", 4, [zd("c9", 10, "create", "9")]);
    expect(first).toEqual([]);
    const second = await deliver(engine, "zd", 5, [zd("u9", 40, "update", "9")]);
    expect(second).toEqual([]);
    // Decisions taken before the reset are not taken again; a later mark decides nothing twice.
    expect((await engine.advance("zd", { seq: 6, bound: T0 + 3 * HOUR })).alerts).toEqual([]);
  });

  it("the cap holds the moment the reset is made, before its mark is applied", async () => {
    const ruleStore = store();
    const engine = new Engine(load(NEW_IP), ruleStore, { sources: [{ name: "bh", provider: "bloodhound" }] });
    await deliver(engine, "bh", 1, [bh("b1", 0, "10.0.0.1"), bh("b2", 200, "10.0.0.9")]);
    await ruleStore.capSource("bh", 2, T0);
    // A re-read batch processed before the reset mark: its candidate waits instead of being decided
    // on the watermark of before the reset (10.0.0.9 was seen at 13:20, after it).
    const early = await engine.processBatch([bh("b3", 30, "10.0.0.2")], randomUUID(), { sources: ["bh"] });
    expect(early.alerts).toEqual([]);
    const marks = [
      await engine.advance("bh", { seq: 2, reset: T0 }),
      await engine.advance("bh", { seq: 3, delivered: T0 + 30 * MIN }),
      await engine.advance("bh", { seq: 4, bound: T0 + 5 * HOUR }),
    ];
    expect(marks.flatMap((m) => m.alerts).map((a) => a.eventIds[0])).toEqual(["b3"]);
  });

  it("100 due decisions with a budget of 7 per call: each decided once, in deadline order", async () => {
    const space = keyspace();
    const ruleStore = new RedisRuleStateStore(redis, space, {
      seenTtlMs: HOUR,
      maxEventIds: MAX_ALERT_EVENT_IDS,
      decisionBudget: 7,
    });
    const engine = new Engine(load(TOKEN), ruleStore, { sources: [{ name: "zd", provider: "zendesk" }] });
    const creations = Array.from({ length: 100 }, (_, i) => zd(`c${i}`, i, "create", `tok${i}`));
    await engine.processBatch(creations, randomUUID(), { sources: ["zd"] });
    const { alerts } = await engine.advance("zd", { seq: 1, bound: T0 + 10 * HOUR }, "mark-1");
    expect(alerts.map((a) => a.eventIds[0])).toEqual(creations.map((e) => e.id));
    // The same watermark job again (a retry) gets the same alerts back.
    const again = await engine.advance("zd", { seq: 1, bound: T0 + 10 * HOUR }, "mark-1");
    expect(again.alerts.map((a) => a.id)).toEqual(alerts.map((a) => a.id));
  });
});

const NEW_IP_ZD = NEW_IP.replace("bloodhound", "zendesk");

describe("every key expires or is owned", () => {
  it("after every kind runs through marks, trimming, edits, a removed rule and a removed source", async () => {
    const space = keyspace();
    const ruleStore = store(space);
    const yamlV1 = `id: k.match
name: M
severity: low
when: { and: [{ "==": [{ var: provider }, zendesk] }, { "==": [{ var: action }, login] }] }
---
id: k.threshold
name: T
severity: low
when: { and: [{ "==": [{ var: provider }, zendesk] }, { "==": [{ var: action }, login] }] }
threshold: { count: 3, within: 10m, groupBy: [actor.id] }
---
id: k.sequence
name: S
severity: low
when: { "==": [{ var: provider }, zendesk] }
sequence: { groupBy: [actor.id], within: 30m, steps: [{ name: a, when: { "==": [{ var: action }, login] } }, { name: b, when: { "==": [{ var: action }, create] } }] }
---
${NEW_IP_ZD}
---
${TOKEN}
`;
    const rulesV1 = load(yamlV1);
    const sourcesV1: SourceIdentity[] = [
      { name: "zd", provider: "zendesk" },
      { name: "zd-old", provider: "zendesk" },
    ];
    const v1 = new Engine(rulesV1, ruleStore, { sources: sourcesV1 });
    const zdEvent = (id: string, minutes: number, action: string, source = "zd") =>
      event({
        id: `${source}:${id}`,
        time: at(minutes),
        source,
        provider: "zendesk",
        action,
        actor: { id: `u${minutes % 3}` },
        ip: `10.0.0.${minutes % 4}`,
        target: { type: "apitoken", id: `t${minutes % 5}` },
      });
    const actions = ["login", "create", "update"];
    let seq = 0;
    for (let batch = 0; batch < 12; batch++) {
      const events = Array.from({ length: 10 }, (_, i) =>
        zdEvent(`${batch}-${i}`, batch * 20 + i, actions[(batch + i) % 3]!),
      );
      await deliver(v1, "zd", ++seq, events);
    }
    await deliver(v1, "zd-old", 1, [zdEvent("o1", 5, "create", "zd-old")]);
    const sweeper = new RuleStateSweeper(redis, space, { graceMs: 1_000 });
    await sweeper.markLive(v1.stateKeys, v1.configuredSources, 1_000);

    // v2: the newValue rule's condition edited (its state key changes), the absence rule removed,
    // the source zd-old removed from the configuration.
    const rulesV2 = load(
      yamlV1
        .replace(NEW_IP_ZD, NEW_IP_ZD.replace("lateness: 5m", "lateness: 5m\nsuppress: 2h"))
        .replace(`---\n${TOKEN}`, ""),
    );
    const v2 = new Engine(rulesV2, ruleStore, { sources: [{ name: "zd", provider: "zendesk" }] });
    for (let batch = 12; batch < 16; batch++) {
      const events = Array.from({ length: 10 }, (_, i) =>
        zdEvent(`${batch}-${i}`, batch * 20 + i, actions[(batch + i) % 3]!),
      );
      await deliver(v2, "zd", ++seq, events);
    }
    await sweeper.markLive(v2.stateKeys, v2.configuredSources, 5_000);
    const swept = await sweeper.sweep(v2.configuredSources, 5_000);
    const gone = v1.stateKeys.filter((key) => !v2.stateKeys.includes(key));
    expect(gone).toHaveLength(2);
    expect(swept.rules.sort()).toEqual([...gone].sort());
    expect(swept.keys).toBeGreaterThan(0);
    // The source is forgotten once it has been out of the configuration for the grace period.
    expect(swept.sources).toEqual([]);
    expect((await sweeper.sweep(v2.configuredSources, 7_000)).sources).toEqual(["zd-old"]);

    const keys = await keysMatching(redis, `${space.tag}:*`);
    expect(keys.length).toBeGreaterThan(20);
    const owned = (key: string) => {
      const name = key.slice(space.tag.length + 1);
      if (["rs:live", "src:d", "src:b", "src:seq", "src:at", "src:gone"].includes(name)) return true;
      // Kept by a live rule: its pending decisions and the groups they hold.
      return v2.stateKeys.some((stateKey) => name.startsWith(`rs:${stateKey}:`));
    };
    for (const key of keys) {
      for (const stateKey of gone) expect(key, "a swept rule's key").not.toContain(stateKey);
      if ((await redis.pttl(key)) > 0) continue;
      expect(owned(key), `${key} has no TTL and no owner`).toBe(true);
    }
    for (const hash of ["src:d", "src:seq", "src:at"])
      expect(Object.keys(await redis.hgetall(space.key(hash))), hash).toEqual(["zd"]);
  });
});
