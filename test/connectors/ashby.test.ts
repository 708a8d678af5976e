// The Ashby connector against the Ashby simulator: date windows under the 18-month cap, cursors
// bound to their window, success:false bodies, faults, refused keys, malformed pages.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CheckpointStore,
  WindowCheckpointSchema,
  createConnector,
  createConnectorDeps,
  startPollWorker,
  type ConnectorDeps,
  SourceConfigSchema,
} from "@vigil/connectors";
import {
  AuditEventSchema,
  ConnectorError,
  EventBatchJobSchema,
  createMetrics,
  openQueues,
  silentLogger,
} from "@vigil/core";
import { VigilConfigSchema as ConfigSchema, type VigilConfigInput as ConfigInput } from "@vigil/cli";
import { startProviderSimulator, type ProviderSimulator } from "@vigil/simulator";
import { useRedis } from "../helpers.js";
import { pullAll } from "./pull-all.js";

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
    auth: { apiKey: sim.credentials("ashby").apiKey },
    startFrom: "30d",
    pageSize: PAGE_SIZE,
    rateLimit: { requests: 5_000, per: "1s" },
    timeout: "5s",
    ...overrides,
  });
  const connectorFor = (input: SourceInput, deps = recordingDeps().deps) =>
    createConnector(SourceConfigSchema.parse(input), deps);
  const truthIds = () => sim.groundTruth("ashby").map((record) => record.id);

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

  it("backfills every record once, oldest first, sending both dates and the same ones with each cursor", async () => {
    const { deps, bodies } = recordingDeps();
    const { events, checkpoint } = await pullAll(connectorFor(sourceInput("ashby-backfill"), deps));
    expect(events.map((e) => e.nativeId).sort()).toEqual(truthIds().sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const times = events.map((e) => Date.parse(e.time));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    const truth = new Map(sim.groundTruth("ashby").map((record) => [record.id, record]));
    for (const event of events) {
      expect(AuditEventSchema.parse(event)).toEqual(event);
      expect(event.raw).toEqual(truth.get(event.nativeId));
    }
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
    expect(windows).toHaveLength(2);
    for (const [start, end] of windows) {
      const eighteenMonthsLater = new Date(start);
      eighteenMonthsLater.setUTCMonth(eighteenMonthsLater.getUTCMonth() + 18);
      expect(end).toBeLessThanOrEqual(eighteenMonthsLater.getTime());
    }
    // Each query reaches a second past its window on both sides (bounds are UNCONFIRMED).
    expect(windows[1]![0]).toBe(windows[0]![1] - 2_000);
  });

  it("picks up exactly the appended records on the next run (re-reading only the lookback)", async () => {
    const connector = connectorFor(sourceInput("ashby-incremental"));
    const first = await pullAll(connector);
    const appended = sim.append("ashby", 6).map((record) => record.id);
    const second = await pullAll(connector, first.checkpoint);
    const seen = new Set(first.events.map((e) => e.nativeId));
    expect(
      second.events
        .filter((e) => !seen.has(e.nativeId))
        .map((e) => e.nativeId)
        .sort(),
    ).toEqual([...appended].sort());
    expect(
      second.events.every((e) => Date.parse(e.time) >= Date.parse(String(first.checkpoint?.until)) - 10 * 60_000),
    ).toBe(true);
  });

  it("still reads everything exactly while the API fails, throttles and stalls", async () => {
    sim.setFaults({ rate: 0.2, kinds: ["500", "429", "slow"], seed: 3, maxDelayMs: 200 });
    const { events } = await pullAll(connectorFor(sourceInput("ashby-faults")));
    expect(events.map((e) => e.nativeId).sort()).toEqual(truthIds().sort());
    expect(sim.requestLog.some((r) => r.fault === "429")).toBe(true);
    expect(sim.requestLog.some((r) => r.fault === "500")).toBe(true);
  });

  it("reports an unknown key and a key without auditLogsRead (403) clearly, once, without the key", async () => {
    for (const apiKey of ["ashby-not-a-real-key-1234", sim.credentials("ashby").forbiddenApiKey]) {
      sim.clearRequestLog();
      const connector = connectorFor(sourceInput("ashby-badauth", { auth: { apiKey } }));
      const error = await pullAll(connector).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).retryable).toBe(false);
      expect((error as Error).message).toMatch(
        /^source ashby-badauth: authentication failed \(HTTP 403\): check the credentials of source ashby-badauth/,
      );
      expect((error as Error).message).not.toContain(apiKey);
      expect(sim.requestLog).toHaveLength(1);
      await expect(connector.check()).rejects.toThrow(/check the credentials/);
    }
    await expect(connectorFor(sourceInput("ashby-check")).check()).resolves.toBeUndefined();
  });

  it("stops at a malformed page naming its window, leaves the checkpoint, and resumes once it is fixed", async () => {
    const ks = keyspace();
    const source = sourceInput("ashby-malformed");
    const config = ConfigSchema.parse({ redis: { prefix: ks.prefix }, sources: [source] });
    const queues = openQueues(redis, ks.queuePrefix);
    const worker = await startPollWorker({
      config,
      connection: redis,
      keyspace: ks,
      queues,
      logger: silentLogger,
      metrics: createMetrics(),
      schedule: false,
    });
    const store = new CheckpointStore(redis, ks);
    try {
      expect(await worker.pullOnce(source.name)).toMatchObject({ events: sim.groundTruth("ashby").length });
      const before = await store.get(source.name);
      const appended = sim.append("ashby", 4).map((record) => record.id);
      sim.setFaults({ rate: 1, kinds: ["malformed"], seed: 8 });
      const broken = await worker.pullOnce(source.name);
      expect(broken.events).toBe(0);
      expect(broken.error).toMatch(/^source ashby-malformed: POST \/auditLog\.list window=\[\S+, \S+\) \(first page\)/);
      expect(broken.error).toMatch(/not valid JSON|: results\.\d+\./);
      expect(await store.get(source.name)).toEqual(before);

      sim.setFaults(undefined);
      const fixed = await worker.pullOnce(source.name);
      expect(fixed.error).toBeUndefined();
      expect(fixed.events).toBe(appended.length);
      const queued = (await queues.events.getJobs(["waiting"])).flatMap((job) =>
        EventBatchJobSchema.parse(job.data).events.map((e) => e.nativeId),
      );
      expect(queued.sort()).toEqual(truthIds().sort());
    } finally {
      await worker.close();
      await queues.close();
    }
  });
});
