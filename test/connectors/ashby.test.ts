// What is particular to the Ashby connector, against the Ashby simulator (the provider conformance
// suite covers the rest): POST bodies with date windows under the 18-month cap, cursors bound to
// their window, the lookback re-read, a key without auditLogsRead, the malformed page's name.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  WindowCheckpointSchema,
  createConnector,
  createConnectorDeps,
  type ConnectorDeps,
  SourceConfigSchema,
} from "@vigil/connectors";
import { expectCredentialsRefused, expectMalformedPage, pullAll } from "@vigil/connectors/testing";
import { silentLogger } from "@vigil/core";
import type { VigilConfigInput as ConfigInput } from "@vigil/cli";
import { startProviderSimulator, type ProviderSimulator } from "@vigil/simulator";
import { useRedis } from "../helpers.js";

type SourceInput = Extract<NonNullable<ConfigInput["sources"]>[number], { type: "ashby" }>;
interface ListBody {
  startDate?: string;
  endDate?: string;
  limit?: number;
  cursor?: string;
}
const { redis, keyspace } = useRedis();
const RECORDS = 150;
const PAGE_SIZE = 20;
const DAY_MS = 86_400_000;

/** Deps whose HTTP clients note every request body (once per request, whatever its retries). */
function recordingDeps(): { deps: ConnectorDeps; bodies: ListBody[] } {
  const base = createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger });
  const bodies: ListBody[] = [];
  const deps: ConnectorDeps = {
    ...base,
    createHttpClient(options) {
      const client = base.createHttpClient(options);
      return {
        source: client.source,
        request: (request) => {
          bodies.push(request.body as ListBody);
          return client.request(request);
        },
        send: (request) => {
          bodies.push(request.body as ListBody);
          return client.send(request);
        },
      };
    },
  };
  return { deps, bodies };
}

describe("Ashby connector against the simulator", () => {
  let sim: ProviderSimulator;

  const sourceInput = (name: string, overrides: Partial<SourceInput> = {}): SourceInput => ({
    name,
    type: "ashby",
    baseUrl: sim.baseUrl("ashby"),
    allowInsecureHttp: true,
    auth: { apiKey: sim.credentials("ashby").apiKey },
    startFrom: "30d",
    pageSize: PAGE_SIZE,
    rateLimit: { requests: 5_000, per: "1s" },
    timeout: "5s",
    ...overrides,
  });
  const connectorFor = (input: SourceInput, deps = recordingDeps().deps) =>
    createConnector(SourceConfigSchema.parse(input), deps);

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["ashby"],
      seed: 31,
      records: { ashby: RECORDS },
      start: new Date(Date.now() - 4 * DAY_MS),
      end: new Date(Date.now() - 120_000),
      rateLimit: { ashby: { requests: 100_000, perMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.setFaults(undefined);
    sim.clearRequestLog();
  });

  it("backfills through POST /auditLog.list, sending both dates and the same ones with each cursor", async () => {
    const { deps, bodies } = recordingDeps();
    const { events, checkpoint } = await pullAll(connectorFor(sourceInput("ashby-backfill"), deps));
    expect(events).toHaveLength(RECORDS);
    expect(WindowCheckpointSchema.parse(checkpoint)).toBeDefined();

    expect(bodies.length).toBeGreaterThanOrEqual(Math.ceil(RECORDS / PAGE_SIZE));
    expect(bodies.filter((b) => b.cursor !== undefined).length).toBeGreaterThan(0);
    let windowOf: ListBody | undefined;
    for (const body of bodies) {
      expect(body).toMatchObject({ startDate: expect.any(String), endDate: expect.any(String), limit: PAGE_SIZE });
      if (body.cursor === undefined) windowOf = body;
      else expect([body.startDate, body.endDate]).toEqual([windowOf?.startDate, windowOf?.endDate]);
    }
    expect(sim.requestLog.every((r) => r.method === "POST" && r.path === "/auditLog.list" && r.status === 200)).toBe(
      true,
    );
  });

  it("keeps every window under the 18-month cap on a long backfill", async () => {
    const { deps, bodies } = recordingDeps();
    const { events } = await pullAll(connectorFor(sourceInput("ashby-long", { startFrom: "700d" }), deps));
    expect(events).toHaveLength(RECORDS);
    const windows = bodies
      .filter((b) => b.cursor === undefined)
      .map((b) => [Date.parse(b.startDate!), Date.parse(b.endDate!)] as const);
    // 700 days, the records in the last few: wide windows while empty, windows of at most
    // windowRecords once dense (a window found too dense is given up and read again shorter).
    expect(windows.length).toBeLessThanOrEqual(15);
    for (const [start, end] of windows) {
      const eighteenMonthsLater = new Date(start);
      eighteenMonthsLater.setUTCMonth(eighteenMonthsLater.getUTCMonth() + 18);
      expect(end).toBeLessThanOrEqual(eighteenMonthsLater.getTime());
    }
    // Each query reaches a second past its window on both sides (bounds are UNCONFIRMED): a window
    // starts where the last one read ended, or where a window given up started.
    for (let i = 1; i < windows.length; i++)
      expect([windows[i - 1]![1] - 2_000, windows[i - 1]![0]]).toContain(windows[i]![0]);
  });

  it("re-reads only the lookback before the checkpoint on the next run", async () => {
    const connector = connectorFor(sourceInput("ashby-incremental"));
    const first = await pullAll(connector);
    sim.append("ashby", 6);
    const second = await pullAll(connector, first.checkpoint);
    expect(
      second.events.every((e) => Date.parse(e.time) >= Date.parse(String(first.checkpoint?.until)) - 10 * 60_000),
    ).toBe(true);
  });

  it("still reads everything exactly while the API fails and throttles, both seen", async () => {
    sim.setFaults({ rate: 0.2, kinds: ["500", "429", "slow"], seed: 3, maxDelayMs: 200 });
    const { events } = await pullAll(connectorFor(sourceInput("ashby-faults")));
    expect(events.map((e) => e.nativeId).sort()).toEqual(
      sim
        .groundTruth("ashby")
        .map((record) => record.id)
        .sort(),
    );
    expect(sim.requestLog.some((r) => r.fault === "429")).toBe(true);
    expect(sim.requestLog.some((r) => r.fault === "500")).toBe(true);
  });

  it("reports an unknown key and a key without auditLogsRead as 403, clearly, once, without the key", async () => {
    for (const apiKey of ["ashby-not-a-real-key-1234", sim.credentials("ashby").forbiddenApiKey]) {
      sim.clearRequestLog();
      await expectCredentialsRefused(connectorFor(sourceInput("ashby-badauth", { auth: { apiKey } })), {
        status: "403",
        secret: apiKey,
        requests: () => sim.requestLog.length,
      });
    }
  });

  it("names a malformed page by its window and the bad field, before yielding any of it", async () => {
    const connector = connectorFor(sourceInput("ashby-malformed"));
    const { checkpoint } = await pullAll(connector);
    sim.append("ashby", 4);
    sim.setFaults({ rate: 1, kinds: ["malformed"], seed: 8 });
    const error = await expectMalformedPage(
      connector,
      checkpoint,
      /^source ashby-malformed: POST \/auditLog\.list window=\[\S+, \S+\) \(first page\)/,
    );
    expect(error.message).toMatch(/not valid JSON|: results\.\d+\./);
  });
});
