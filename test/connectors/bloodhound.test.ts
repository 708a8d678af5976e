// What is particular to the BloodHound connector, against the provider simulator (the provider
// conformance suite covers the rest): signed and JWT requests, offset paging through timestamp
// ties, intent rows and failed logins, tollbooth's 429s and the own limiter, refused tokens and
// JWTs, the malformed page's name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector, createConnectorDeps, type Connector, SourceConfigSchema } from "@vigil/connectors";
import { expectMalformedPage, pullAll } from "@vigil/connectors/testing";
import { ConnectorError, silentLogger, type AuditEvent } from "@vigil/core";
import type { VigilConfigInput as ConfigInput } from "@vigil/cli";
import { startProviderSimulator, type BloodHoundAuditLog, type ProviderSimulator } from "@vigil/simulator";
import { useRedis } from "../helpers.js";

const DAY_MS = 86_400_000;
const HIGH_LIMIT = { requests: 100_000, perMs: 1_000 };
const { redis, keyspace } = useRedis();

type SourceInput = NonNullable<ConfigInput["sources"]>[number];

function sourceInput(sim: ProviderSimulator, overrides: Record<string, unknown> = {}): SourceInput {
  const { tokenId, tokenKey } = sim.credentials("bloodhound");
  return {
    name: "bloodhound-test",
    type: "bloodhound",
    baseUrl: sim.baseUrl("bloodhound"),
    allowInsecureHttp: true,
    auth: { tokenId, tokenKey },
    startFrom: "8d",
    lookback: "10m",
    pageSize: 7,
    rateLimit: { requests: 5_000, per: "1s" },
    timeout: "5s",
    ...overrides,
  } as SourceInput;
}

function connectorFor(sim: ProviderSimulator, overrides: Record<string, unknown> = {}): Connector {
  const deps = createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger });
  return createConnector(SourceConfigSchema.parse(sourceInput(sim, overrides)), deps);
}

const auditRequests = (sim: ProviderSimulator) => sim.requestLog.filter((r) => r.path === "/api/v2/audit");

function expectExactly(events: AuditEvent[], truth: readonly BloodHoundAuditLog[], source = "bloodhound-test") {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(truth.map((r) => `${source}:${r.id}`).sort());
  const times = events.map((e) => Date.parse(e.time));
  expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
}

async function simulator(records: number, rateLimit = HIGH_LIMIT): Promise<ProviderSimulator> {
  return startProviderSimulator({
    providers: ["bloodhound"],
    seed: 31,
    records: { bloodhound: records },
    start: new Date(Date.now() - 6 * DAY_MS),
    end: new Date(Date.now() - 60_000),
    rateLimit: { bloodhound: rateLimit },
  });
}

describe("BloodHound connector against the simulator", () => {
  let sim: ProviderSimulator;

  beforeAll(async () => {
    sim = await simulator(180);
  });
  afterAll(async () => {
    await sim.close();
  });

  it("backfills exactly every row, through small pages and timestamp ties, with signed requests", async () => {
    sim.clearRequestLog();
    const { events } = await pullAll(connectorFor(sim));
    const truth = sim.groundTruth("bloodhound");
    expectExactly(events, truth);
    const byId = new Map(truth.map((r) => [String(r.id), r]));
    for (const event of events) {
      const row = byId.get(event.nativeId)!;
      expect(event).toMatchObject({
        provider: "bloodhound",
        action: row.action,
        attributes: { status: row.status, commit_id: row.commit_id },
      });
    }
    // Pages of one window share their bounds and step the offset by the page size.
    const requests = auditRequests(sim);
    expect(requests.every((r) => r.status === 200)).toBe(true);
    const queries = requests.map((r) => new URLSearchParams(r.query));
    const windowOf = (q: URLSearchParams) => `${q.get("after")}..${q.get("before")}`;
    const windows = [...new Set(queries.map(windowOf))];
    expect(windows.length).toBeGreaterThan(1);
    for (const window of windows) {
      const pages = queries.filter((q) => windowOf(q) === window);
      expect(pages.map((q) => q.get("offset"))).toEqual(pages.map((_, i) => String(i * 7)));
      expect(
        pages.every((q) => q.get("skip") === q.get("offset") && q.get("sort_by") === "-id" && q.get("limit") === "7"),
      ).toBe(true);
    }
  });

  it("backfills the same rows with a session JWT", async () => {
    const { events } = await pullAll(
      connectorFor(sim, { auth: { jwt: sim.credentials("bloodhound").jwt }, pageSize: 50 }),
    );
    expectExactly(events, sim.groundTruth("bloodhound"));
  });

  it("picks up exactly the appended rows on the next run, a failed login and its intent row included", async () => {
    const connector = connectorFor(sim);
    const first = await pullAll(connector);
    const tie = new Date(Date.now() - 5_000).toISOString().replace("Z", "123Z");
    const appended = [
      ...sim.append("bloodhound", 6),
      ...sim.append("bloodhound", [
        { action: "LoginAttempt", status: "failure", fields: { username: "administrator" } },
      ]),
      // Nine rows sharing one instant: they straddle a page boundary.
      ...sim.append(
        "bloodhound",
        Array.from({ length: 9 }, () => ({ action: "DeleteUser", status: "intent" as const, created_at: tie })),
      ),
    ];
    const second = await pullAll(connector, first.checkpoint);
    const seen = new Set(first.events.map((e) => e.nativeId));
    const fresh = second.events.filter((e) => !seen.has(e.nativeId));
    expect(fresh.map((e) => e.nativeId).sort()).toEqual(appended.map((r) => String(r.id)).sort());
    const login = fresh.filter(
      (e) =>
        e.action === "LoginAttempt" &&
        e.raw.fields &&
        (e.raw.fields as { username?: string }).username === "administrator",
    );
    expect(login.map((e) => e.outcome).sort()).toEqual(["failure", "unknown"]);
    expect(login.find((e) => e.outcome === "failure")).toMatchObject({
      category: "authentication",
      actor: {},
      target: { type: "user", name: "administrator" },
      ip: expect.any(String),
    });
  });

  it("backs off on tollbooth's 429s, which carry no Retry-After, and still reads everything", async () => {
    const limited = await simulator(60, { requests: 4, perMs: 1_000 });
    try {
      const { events } = await pullAll(
        connectorFor(limited, { startFrom: "7d", pageSize: 10, rateLimit: { requests: 1_000, per: "1s" } }),
      );
      expectExactly(events, limited.groundTruth("bloodhound"));
      expect(auditRequests(limited).some((r) => r.status === 429)).toBe(true);
    } finally {
      await limited.close();
    }
  });

  it("keeps under the documented budget with its own limiter", async () => {
    const limited = await simulator(60, { requests: 5, perMs: 1_000 });
    try {
      const { events } = await pullAll(
        connectorFor(limited, { startFrom: "7d", pageSize: 10, rateLimit: { requests: 4, per: "1s" } }),
      );
      expectExactly(events, limited.groundTruth("bloodhound"));
      expect(auditRequests(limited).every((r) => r.status === 200)).toBe(true);
    } finally {
      await limited.close();
    }
  });

  it("still backfills exactly while the server fails and throttles, both seen", async () => {
    sim.clearRequestLog();
    sim.setFaults({ rate: 0.25, kinds: ["500", "429", "slow"], seed: 8, maxDelayMs: 100 });
    try {
      const { events } = await pullAll(connectorFor(sim, { pageSize: 20 }));
      expectExactly(events, sim.groundTruth("bloodhound"));
      const faults = new Set(auditRequests(sim).map((r) => r.fault));
      expect(faults).toContain("500");
      expect(faults).toContain("429");
    } finally {
      sim.setFaults(undefined);
    }
  });

  it("reports a wrong token key, an unknown JWT and a user without the permission clearly, once, without the secret", async () => {
    const { tokenId, tokenKey, forbiddenJwt } = sim.credentials("bloodhound");
    const cases = [
      { auth: { tokenId, tokenKey: `${tokenKey}-wrong` }, secret: `${tokenKey}-wrong`, status: 401 },
      {
        auth: { jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.bm90LWEtcmVhbC1zaWduYXR1cmU" },
        secret: "bm90LWEtcmVhbC1zaWduYXR1cmU",
        status: 401,
      },
      { auth: { jwt: forbiddenJwt }, secret: forbiddenJwt, status: 403 },
    ];
    for (const { auth, secret, status } of cases) {
      sim.clearRequestLog();
      const connector = connectorFor(sim, { name: "bloodhound-badauth", auth });
      const error = await connector.check().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).retryable).toBe(false);
      expect((error as Error).message).toContain(
        `authentication failed (HTTP ${status}): check the credentials of source bloodhound-badauth`,
      );
      expect((error as Error).message).not.toContain(secret);
      await expect(pullAll(connector)).rejects.toThrow(/check the credentials of source bloodhound-badauth/);
      expect(sim.requestLog).toHaveLength(2);
    }
  });

  it("names a malformed page by its window, offset and limit, whatever is malformed in it, before yielding any of it", async () => {
    const connector = connectorFor(sim, { name: "bloodhound-malformed" });
    const { checkpoint } = await pullAll(connector);
    sim.append("bloodhound", 12);
    try {
      for (const seed of [1, 2, 3, 4]) {
        sim.setFaults({ rate: 1, kinds: ["malformed"], seed });
        await expectMalformedPage(
          connector,
          checkpoint,
          /^source bloodhound-malformed: GET \/api\/v2\/audit after=\S+ before=\S+ offset=\d+ limit=7: /,
        );
      }
    } finally {
      sim.setFaults(undefined);
    }
  });
});
