// What is particular to the Pylon connector, against the Pylon simulator (the provider conformance
// suite covers the rest): cursor paging and the cursor checkpoint, action-time ordering,
// startFrom and `since`, Pylon's X-Retry-After, a non-admin token, the malformed page's name.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PylonCheckpointSchema, createConnector, createConnectorDeps, SourceConfigSchema } from "@vigil/connectors";
import { expectCredentialsRefused, expectMalformedPage, pullAll } from "@vigil/connectors/testing";
import { silentLogger } from "@vigil/core";
import type { VigilConfigInput as ConfigInput } from "@vigil/cli";
import { startProviderSimulator, type ProviderSimulator } from "@vigil/simulator";
import { useRedis } from "../helpers.js";

type SourceInput = Extract<NonNullable<ConfigInput["sources"]>[number], { type: "pylon" }>;
const { redis, keyspace } = useRedis();
const RECORDS = 150;
const PAGE_SIZE = 20;

describe("Pylon connector against the simulator", () => {
  let sim: ProviderSimulator;

  const sourceInput = (name: string, overrides: Partial<SourceInput> = {}): SourceInput => ({
    name,
    type: "pylon",
    baseUrl: sim.baseUrl("pylon"),
    allowInsecureHttp: true,
    auth: { token: sim.credentials("pylon").token },
    startFrom: "30d",
    pageSize: PAGE_SIZE,
    rateLimit: { requests: 5_000, per: "1s" },
    timeout: "5s",
    ...overrides,
  });
  const connectorFor = (input: SourceInput) =>
    createConnector(
      SourceConfigSchema.parse(input),
      createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger }),
    );

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["pylon"],
      seed: 23,
      records: { pylon: RECORDS },
      start: new Date(Date.now() - 4 * 86_400_000),
      end: new Date(Date.now() - 120_000),
      rateLimit: { pylon: { requests: 100_000, perMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.setFaults(undefined);
    sim.clearRequestLog();
  });

  it("backfills through GET /audit-logs pages of pageSize, timed by action time, checkpointing the cursor", async () => {
    const { events, checkpoint } = await pullAll(connectorFor(sourceInput("pylon-backfill")));
    expect(events).toHaveLength(RECORDS);
    const truth = new Map(sim.groundTruth("pylon").map((record) => [record.id, record]));
    for (const event of events) {
      expect(event.time).toBe(new Date(truth.get(event.nativeId)!.action_happened_at).toISOString());
    }
    expect(PylonCheckpointSchema.parse(checkpoint)).toEqual({ cursor: expect.any(String) });
    expect(
      sim.requestLog.every(
        (r) => r.method === "GET" && r.path === "/audit-logs" && r.query.includes(`limit=${PAGE_SIZE}`),
      ),
    ).toBe(true);
    expect(sim.requestLog).toHaveLength(Math.ceil(RECORDS / PAGE_SIZE));
  });

  it("resumes from the stored cursor: the next run reads exactly the appended records, and then nothing", async () => {
    const connector = connectorFor(sourceInput("pylon-incremental"));
    const first = await pullAll(connector);
    const appended = sim.append("pylon", 7).map((record) => record.id);
    const second = await pullAll(connector, first.checkpoint);
    expect(second.events.map((e) => e.nativeId).sort()).toEqual([...appended].sort());
    const third = await pullAll(connector, second.checkpoint);
    expect(third.events).toEqual([]);
    expect(third.checkpoint).toEqual(second.checkpoint);
  });

  it("starts the first run at startFrom and a `since` pull at its own span, by action time", async () => {
    const truth = sim.groundTruth("pylon");
    const middle = Date.parse(truth[Math.floor(truth.length / 2)]!.action_happened_at);
    const expected = (from: number) =>
      truth
        .filter((r) => Date.parse(r.action_happened_at) >= from)
        .map((r) => r.id)
        .sort();

    const recent = await pullAll(connectorFor(sourceInput("pylon-recent", { startFrom: "1d" })));
    expect(recent.events.map((e) => e.nativeId).sort()).toEqual(expected(Date.now() - 86_400_000));

    const span = await pullAll(
      connectorFor(sourceInput("pylon-since")),
      { cursor: "ignored-by-since" },
      { since: new Date(middle) },
    );
    expect(span.events.map((e) => e.nativeId).sort()).toEqual(expected(middle));
  });

  it("still reads everything exactly while the API fails and throttles, both seen", async () => {
    sim.setFaults({ rate: 0.2, kinds: ["500", "429", "slow"], seed: 3, maxDelayMs: 200 });
    const { events } = await pullAll(connectorFor(sourceInput("pylon-faults")));
    expect(events.map((e) => e.nativeId).sort()).toEqual(
      sim
        .groundTruth("pylon")
        .map((record) => record.id)
        .sort(),
    );
    expect(sim.requestLog.filter((r) => r.fault === "429").length).toBeGreaterThan(0);
    expect(sim.requestLog.filter((r) => r.fault === "500").length).toBeGreaterThan(0);
  });

  it("waits as X-Retry-After says when Pylon's own limit refuses it", async () => {
    const strict = await startProviderSimulator({
      providers: ["pylon"],
      seed: 5,
      records: { pylon: 12 },
      rateLimit: { pylon: { requests: 2, perMs: 1_000 } },
    });
    try {
      const input = { ...sourceInput("pylon-throttled"), baseUrl: strict.baseUrl("pylon"), pageSize: 3 };
      const { events } = await pullAll(connectorFor(input));
      expect(events).toHaveLength(12);
      expect(strict.requestLog.some((r) => r.status === 429)).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it("reports an unknown token (401) and a non-admin token (403) clearly, once, without the token", async () => {
    for (const [token, status] of [
      ["pylon-not-a-real-token-1234", 401],
      [sim.credentials("pylon").forbiddenToken, 403],
    ] as const) {
      sim.clearRequestLog();
      await expectCredentialsRefused(connectorFor(sourceInput("pylon-badauth", { auth: { token } })), {
        status: String(status),
        secret: token,
        requests: () => sim.requestLog.length,
      });
    }
  });

  it("names a malformed page by its cursor and the bad field, before yielding any of it", async () => {
    const connector = connectorFor(sourceInput("pylon-malformed"));
    const { checkpoint } = await pullAll(connector);
    sim.append("pylon", 4);
    sim.setFaults({ rate: 1, kinds: ["malformed"], seed: 2 });
    const error = await expectMalformedPage(
      connector,
      checkpoint,
      `source pylon-malformed: GET /audit-logs cursor=${(checkpoint as { cursor: string }).cursor}`,
    );
    expect(error.message).toMatch(/not valid JSON|: data\.\d+\./);
  });
});
