import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_ALERT_EVENT_IDS, type Alert, type AuditEvent, type Geo } from "@vigil/core";
import {
  Engine,
  MemoryRuleStateStore,
  openIpGeo,
  parseRules,
  RedisRuleStateStore,
  windowAlertId,
  type LoadedRule,
  type RuleStateStore,
} from "@vigil/engine";
import { event, seededRandom, shuffle, useRedis, keysMatching } from "../helpers.js";

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T00:00:00Z");
const MIN = 60_000;
const HOUR = 60 * MIN;

function rules(extra = ""): LoadedRule[] {
  const { rules, problems } = parseRules(
    `
id: test.travel
name: Impossible travel
severity: high
when: { "==": [{ var: action }, login] }
travel: { groupBy: [actor.email], horizon: 6h, maxSpeed: 900, minDistance: 100 }
title: "{{actor.email}}: {{from.city}} ({{from.time}}) to {{to.city}} ({{to.time}}) at {{speedKmh}} km/h"
${extra}
`,
    "inline.yaml",
  );
  expect(problems).toEqual([]);
  return rules;
}

const redisStore = () =>
  new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });

async function runAll(engine: Engine, batches: AuditEvent[][]): Promise<Alert[]> {
  const alerts: Alert[] = [];
  for (const batch of batches) alerts.push(...(await engine.processBatch(batch, randomUUID())).alerts);
  return alerts;
}

const login = (id: string, minute: number, ip: string | undefined, geo?: Geo, email = "eve@example.com") =>
  event({
    id,
    time: new Date(T0 + minute * MIN).toISOString(),
    action: "login",
    actor: { email },
    ...(ip === undefined ? {} : { ip }),
    ...(geo ? { geo } : {}),
  });

const PARIS: Geo = { country: "FR", city: "Paris", latitude: 48.8566, longitude: 2.3522 };
const NEW_YORK: Geo = { country: "US", city: "New York", latitude: 40.7128, longitude: -74.006, accuracyRadius: 20 };

describe("travel rules", () => {
  it("alert on two logins too far apart for the time between them, naming both places, times and the speed", async () => {
    const alerts = await runAll(new Engine(rules(), redisStore()), [
      [login("p", 0, "1.1.1.1", PARIS)],
      [login("n", 90, "2.2.2.2", NEW_YORK)],
    ]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      id: windowAlertId("test.travel", ["eve@example.com"], Math.floor((T0 + 90 * MIN) / (6 * HOUR)) * 6 * HOUR),
      title: "eve@example.com: Paris (2026-03-01T00:00:00.000Z) to New York (2026-03-01T01:30:00.000Z) at 3878 km/h",
      count: 2,
      eventIds: ["p", "n"],
      windowStart: "2026-03-01T00:00:00.000Z",
      windowEnd: "2026-03-01T01:30:00.000Z",
      evidence: {
        kind: "travel",
        from: { eventId: "p", ip: "1.1.1.1", country: "FR", city: "Paris", time: "2026-03-01T00:00:00.000Z" },
        to: { eventId: "n", ip: "2.2.2.2", country: "US", city: "New York", accuracyRadius: 20 },
        distanceKm: 5817.2, // 5,837 km between the cities, less New York's 20 km accuracy
        speedKmh: 3878,
      },
    });
  });

  it("near misses: the same IP, an event without location, slow enough, beyond the horizon", async () => {
    const alerts = await runAll(new Engine(rules(), redisStore()), [
      [
        login("a", 0, "1.1.1.1", PARIS, "same@example.com"),
        login("b", 60, "1.1.1.1", NEW_YORK, "same@example.com"),
        login("c", 0, "1.1.1.1", PARIS, "nogeo@example.com"),
        login("d", 60, "2.2.2.2", undefined, "nogeo@example.com"),
        login("e", 0, undefined, PARIS, "noip@example.com"),
        login("f", 60, "2.2.2.2", NEW_YORK, "noip@example.com"),
        login("g", 0, "1.1.1.1", PARIS, "slow@example.com"),
        login("h", 6 * 60 + 1, "2.2.2.2", NEW_YORK, "slow@example.com"),
      ],
    ]);
    expect(alerts).toEqual([]);
  });

  it("reads the places IP enrichment found (London, then Mountain View within the hour)", async () => {
    const engine = new Engine(rules(), redisStore(), { geo: openIpGeo() });
    const alerts = await runAll(engine, [[login("l", 0, "81.2.69.160"), login("m", 50, "8.8.8.8")]]);
    expect(alerts.map((a) => a.title)).toEqual([
      "eve@example.com: London (2026-03-01T00:00:00.000Z) to Mountain View (2026-03-01T00:50:00.000Z) at 10362 km/h",
    ]);
    expect(alerts[0]!.evidence).toMatchObject({ from: { country: "GB" }, to: { country: "US" } });
  });
});

describe("travel state is bounded", () => {
  it("keeps at most 200 located events per group, the same in its time index and its locations, every key expiring", async () => {
    const space = keyspace();
    const engine = new Engine(
      rules(),
      new RedisRuleStateStore(redis, space, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
    );
    for (let b = 0; b < 12; b++) {
      const batch = Array.from({ length: 50 }, (_, i) =>
        login(`e${b}-${i}`, (b * 50 + i) / 10, `1.1.${b}.${i}`, i % 2 ? PARIS : NEW_YORK),
      );
      await engine.processBatch(batch, randomUUID(), { sources: ["s"] });
    }
    const keys = await keysMatching(redis, `${space.tag}:rs:*`);
    const z = keys.find((k) => k.endsWith(":z"))!;
    const h = keys.find((k) => k.endsWith(":h"))!;
    expect(await redis.zcard(z)).toBe(200);
    expect((await redis.hkeys(h)).sort()).toEqual((await redis.zrange(z, 0, -1)).sort());
    expect(await redis.zrange(z, 0, 0)).toEqual(["e8-0"]); // the 400 oldest were dropped
    for (const key of keys) expect(await redis.pttl(key), key).toBeGreaterThan(0);
  });
});

describe("travel alerts equal the definition over all pairs, whatever the arrival order", () => {
  const CITIES: [string, number, number][] = [
    ["Paris", 48.8566, 2.3522],
    ["Versailles", 48.8049, 2.1204],
    ["Lyon", 45.764, 4.8357],
    ["London", 51.5072, -0.1276],
    ["Berlin", 52.52, 13.405],
    ["New York", 40.7128, -74.006],
    ["Boston", 42.3601, -71.0589],
    ["Tokyo", 35.6762, 139.6503],
  ];
  const HORIZON = 6 * HOUR;
  const SUPPRESS = 2 * HOUR;

  /** Independent of the kind's code: the haversine distance with atan2, in km. */
  function km(a: Geo, b: Geo): number {
    const rad = (d: number) => (d * Math.PI) / 180;
    const dLat = rad(b.latitude! - a.latitude!);
    const dLon = rad(b.longitude! - a.longitude!);
    const h =
      Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude!)) * Math.cos(rad(b.latitude!)) * Math.sin(dLon / 2) ** 2;
    return 2 * 6371.0088 * Math.atan2(Math.sqrt(h), Math.sqrt(1 - h));
  }

  /** The definition, by brute force over every pair of distinct events of a group. */
  function expectedAlertIds(events: AuditEvent[]): string[] {
    const unique = [...new Map(events.map((e) => [e.id, e])).values()].filter(
      (e) => e.ip !== undefined && e.geo?.latitude !== undefined,
    );
    const ids = new Set<string>();
    for (const a of unique)
      for (const b of unique) {
        if (a.id >= b.id || a.actor.email !== b.actor.email || a.ip === b.ip) continue;
        const [ta, tb] = [Date.parse(a.time), Date.parse(b.time)];
        if (Math.abs(ta - tb) > HORIZON) continue;
        const distance = km(a.geo!, b.geo!) - (a.geo!.accuracyRadius ?? 0) - (b.geo!.accuracyRadius ?? 0);
        const hours = Math.max(Math.abs(ta - tb), MIN) / HOUR;
        if (distance <= 0 || distance < 100 || distance / hours <= 900) continue;
        const later = Math.max(ta, tb);
        ids.add(windowAlertId("test.travel", [a.actor.email], Math.floor(later / SUPPRESS) * SUPPRESS));
      }
    return [...ids].sort();
  }

  function randomEvents(seed: number, n: number): AuditEvent[] {
    const random = seededRandom(seed);
    const events = Array.from({ length: n }, (_, i) => {
      const [city, lat, lon] = CITIES[Math.floor(random() * CITIES.length)]!;
      const located = random() < 0.9;
      const geo: Geo = {
        city,
        latitude: lat + (random() - 0.5) * 0.2,
        longitude: lon + (random() - 0.5) * 0.2,
        ...(random() < 0.5 ? { accuracyRadius: Math.floor(random() * 100) } : {}),
      };
      return login(
        `ev${seed}-${i}`,
        Math.floor(random() * 48 * 60),
        random() < 0.95 ? `10.0.0.${Math.floor(random() * 6)}` : undefined,
        located ? geo : undefined,
        `actor${Math.floor(random() * 3)}@example.com`,
      );
    });
    // Some events delivered twice.
    return [...events, ...events.filter(() => random() < 0.15)];
  }

  function randomBatches(events: AuditEvent[], random: () => number): AuditEvent[][] {
    const batches: AuditEvent[][] = [];
    for (let i = 0; i < events.length; ) {
      const size = 1 + Math.floor(random() * 30);
      batches.push(events.slice(i, i + size));
      i += size;
    }
    return batches;
  }

  /** Each alert's pair satisfies the definition, its later event's time in the alert's span. */
  function checkPair(alert: Alert, byId: Map<string, AuditEvent>) {
    const [a, b] = alert.eventIds.map((id) => byId.get(id)!) as [AuditEvent, AuditEvent];
    expect(a.actor.email).toBe(alert.groupKey["actor.email"]);
    expect(b.actor.email).toBe(alert.groupKey["actor.email"]);
    expect(a.ip).not.toBe(b.ip);
    expect(Date.parse(a.time)).toBeLessThanOrEqual(Date.parse(b.time));
    expect(Date.parse(b.time) - Date.parse(a.time)).toBeLessThanOrEqual(HORIZON);
    expect(alert.windowEnd).toBe(new Date(Date.parse(b.time)).toISOString());
    expect(alert.evidence).toMatchObject({ from: { eventId: a.id, ip: a.ip }, to: { eventId: b.id, ip: b.ip } });
    expect(alert.evidence!.speedKmh as number).toBeGreaterThan(900);
  }

  const stores: [string, () => RuleStateStore][] = [
    ["Redis", redisStore],
    ["in-memory definition", () => new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS })],
  ];
  for (const [name, makeStore] of stores) {
    it(`${name} store: the same alert ids in sorted, reversed and shuffled orders, in random batches`, async () => {
      const loaded = rules(`lateness: 3d\nsuppress: 2h`);
      for (const seed of [1, 2, 3, 4]) {
        const events = randomEvents(seed, 90);
        const byId = new Map(events.map((e) => [e.id, e]));
        const expected = expectedAlertIds(events);
        expect(expected.length, `seed ${seed} has alerts`).toBeGreaterThan(3);
        const sorted = [...events].sort((a, b) => a.time.localeCompare(b.time));
        const orders = [
          sorted,
          [...sorted].reverse(),
          ...[11, 12].map((s) => shuffle(events, seededRandom(seed * 100 + s))),
        ];
        for (const [o, order] of orders.entries()) {
          const alerts = await runAll(new Engine(loaded, makeStore()), randomBatches(order, seededRandom(seed + o)));
          for (const alert of alerts) checkPair(alert, byId);
          expect(alerts.map((a) => a.id).sort(), `seed ${seed}, order ${o}`).toEqual(expected);
        }
      }
    });
  }
});
