// What is particular to the Logfire connector, against the provider simulator (the provider
// conformance suite covers the rest): its normalization, day windows with whole-second bounds,
// late records in the lookback, `since`, unauthorized keys, the malformed window's name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnector, createConnectorDeps, type Connector, SourceConfigSchema } from "@vigil/connectors";
import { expectMalformedPage, pullAll } from "@vigil/connectors/testing";
import { ConnectorError, silentLogger, type AuditEvent } from "@vigil/core";
import type { VigilConfigInput as ConfigInput } from "@vigil/cli";
import { startProviderSimulator, type LogfireAuditLog, type ProviderSimulator } from "@vigil/simulator";
import { useRedis } from "../helpers.js";

const DAY_MS = 86_400_000;
const { redis, keyspace } = useRedis();

type SourceInput = NonNullable<ConfigInput["sources"]>[number];

function sourceInput(sim: ProviderSimulator, overrides: Record<string, unknown> = {}): SourceInput {
  return {
    name: "logfire-test",
    type: "logfire",
    baseUrl: sim.baseUrl("logfire"),
    allowInsecureHttp: true,
    auth: { token: sim.credentials("logfire").apiKey },
    startFrom: "8d",
    lookback: "10m",
    rateLimit: { requests: 5_000, per: "1s" },
    timeout: "5s",
    ...overrides,
  } as SourceInput;
}

function connectorFor(sim: ProviderSimulator, overrides: Record<string, unknown> = {}): Connector {
  const deps = createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger });
  return createConnector(SourceConfigSchema.parse(sourceInput(sim, overrides)), deps);
}

const listRequests = (sim: ProviderSimulator) => sim.requestLog.filter((r) => r.path === "/api/v1/audit-logs/");

function expectExactly(events: AuditEvent[], truth: readonly LogfireAuditLog[], source = "logfire-test") {
  const ids = events.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(truth.map((r) => `${source}:${r.id}`).sort());
  const times = events.map((e) => Date.parse(e.time));
  expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
}

describe("Logfire connector against the simulator", () => {
  let sim: ProviderSimulator;

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["logfire"],
      seed: 21,
      records: { logfire: 150 },
      start: new Date(Date.now() - 6 * DAY_MS),
      end: new Date(Date.now() - 60_000),
      rateLimit: { logfire: { requests: 100_000, perMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("normalizes each record as received, through windows with whole-second bounds", async () => {
    sim.clearRequestLog();
    const { events, checkpoint } = await pullAll(connectorFor(sim));
    const truth = sim.groundTruth("logfire");
    expect(events).toHaveLength(truth.length);
    const byId = new Map(truth.map((r) => [r.id, r]));
    for (const event of events) {
      const record = byId.get(event.nativeId)!;
      expect(event).toMatchObject({
        provider: "logfire",
        action: record.action,
        time: new Date(Date.parse(record.created_at)).toISOString(),
        actor: { name: record.user_name },
      });
    }
    expect(checkpoint).toEqual({ until: expect.any(String), windowMs: expect.any(Number) });
    // Whole-second bounds, the first window an hour (unpaged answers: nothing known of the density yet),
    // none over the API's 90 days, all answered.
    const spans = listRequests(sim).map((r) => {
      const query = new URLSearchParams(r.query);
      return Date.parse(query.get("end_time")!) - Date.parse(query.get("start_time")!);
    });
    expect(spans[0]).toBeLessThanOrEqual(3_600_000 + 1_000);
    for (const request of listRequests(sim)) {
      const query = new URLSearchParams(request.query);
      expect(query.get("start_time")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(query.get("end_time")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Date.parse(query.get("end_time")!) - Date.parse(query.get("start_time")!)).toBeLessThanOrEqual(
        90 * DAY_MS,
      );
      expect(request.status).toBe(200);
    }
  });

  it("picks up exactly the appended records on the next run, including ones dated just before the checkpoint", async () => {
    const connector = connectorFor(sim);
    const first = await pullAll(connector);
    const lateMs = Date.parse((first.checkpoint as { until: string }).until) - 30_000;
    const appended = [
      ...sim.append("logfire", 4),
      ...sim.append("logfire", [
        { action: "INSERT", resource_type: "write_tokens", user_name: "mallory", ip_address: "198.51.100.77" },
        // Written late: its action time lies before the first run's checkpoint, inside the lookback.
        {
          action: "DELETE",
          resource_type: "projects",
          created_at: new Date(lateMs).toISOString().replace("Z", "000Z"),
        },
      ]),
    ];
    const second = await pullAll(connector, first.checkpoint);
    const seen = new Set(first.events.map((e) => e.nativeId));
    const fresh = second.events.filter((e) => !seen.has(e.nativeId));
    expect(fresh.map((e) => e.nativeId).sort()).toEqual(appended.map((r) => r.id).sort());
    expect(fresh.find((e) => e.raw.user_name === "mallory")).toMatchObject({
      category: "create",
      outcome: "success",
      target: { type: "write_tokens" },
      ip: "198.51.100.77",
    });
  });

  it("reads a quiet organization's long backfill in a few windows the API accepts (≤ 2× the fewest)", async () => {
    const longSim = await startProviderSimulator({
      providers: ["logfire"],
      seed: 4,
      records: { logfire: 40 },
      start: new Date(Date.now() - 120 * DAY_MS),
      end: new Date(Date.now() - DAY_MS),
      rateLimit: { logfire: { requests: 100_000, perMs: 1_000 } },
    });
    try {
      const { events } = await pullAll(connectorFor(longSim, { startFrom: "121d" }));
      expectExactly(events, longSim.groundTruth("logfire"));
      const requests = listRequests(longSim);
      // 121 days need at least two 90-day queries; the one-day first window may cost more.
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(requests.length).toBeLessThanOrEqual(4);
      expect(requests.every((r) => r.status === 200)).toBe(true);
    } finally {
      await longSim.close();
    }
  });

  it("pulls only the asked span with `since`", async () => {
    const truth = sim.groundTruth("logfire");
    const now = new Date(Date.now() - 2 * DAY_MS);
    const since = new Date(now.getTime() - DAY_MS);
    const { events } = await pullAll(connectorFor(sim), { until: new Date().toISOString() }, { now, since });
    const expected = truth.filter(
      (r) => Date.parse(r.created_at) >= since.getTime() && Date.parse(r.created_at) < now.getTime(),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(events.map((e) => e.nativeId).sort()).toEqual(expected.map((r) => r.id).sort());
  });

  it("still backfills exactly while the API fails, throttles (Retry-After) and stalls", async () => {
    // One kind per pull: a backfill takes only a few wide windows, so each kind is drawn often enough to be seen.
    // A 429 starts a burst of refusals, so it is drawn less often than the others.
    for (const [kind, rate] of [
      ["500", 0.5],
      ["429", 0.25],
      ["slow", 0.5],
    ] as const) {
      sim.clearRequestLog();
      sim.setFaults({ rate, kinds: [kind], seed: 3, maxDelayMs: 100 });
      try {
        const { events } = await pullAll(connectorFor(sim));
        expectExactly(events, sim.groundTruth("logfire"));
        expect(listRequests(sim).map((r) => r.fault)).toContain(kind);
      } finally {
        sim.setFaults(undefined);
      }
    }
  });

  it("reports a wrong or unauthorized key clearly, once, without the key", async () => {
    for (const [token, status] of [
      ["pylf_v1_us_not_a_real_key_000", 401],
      [sim.credentials("logfire").forbiddenApiKey, 403],
    ] as const) {
      sim.clearRequestLog();
      const connector = connectorFor(sim, { name: "logfire-badkey", auth: { token } });
      const error = await connector.check().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).retryable).toBe(false);
      expect((error as Error).message).toContain(
        `authentication failed (HTTP ${status}): check the credentials of source logfire-badkey`,
      );
      expect((error as Error).message).not.toContain(token);
      await expect(pullAll(connector)).rejects.toThrow(/check the credentials of source logfire-badkey/);
      expect(sim.requestLog).toHaveLength(2);
    }
  });

  it("names a malformed window by its bounds, whatever is malformed in it, before yielding any of it", async () => {
    const connector = connectorFor(sim, { name: "logfire-malformed" });
    const { checkpoint } = await pullAll(connector);
    sim.append("logfire", 3);
    try {
      for (const seed of [1, 2, 3, 4]) {
        sim.setFaults({ rate: 1, kinds: ["malformed"], seed });
        await expectMalformedPage(
          connector,
          checkpoint,
          /^source logfire-malformed: GET \/v1\/audit-logs\/ start_time=\S+ end_time=\S+: /,
        );
      }
    } finally {
      sim.setFaults(undefined);
    }
  });
});
