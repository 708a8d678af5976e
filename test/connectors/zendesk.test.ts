// The Zendesk connector against the Zendesk simulator: cursor pagination only, created_at
// windows, both auth schemes, faults, refused credentials, malformed pages.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CheckpointStore,
  WindowCheckpointSchema,
  createConnector,
  createConnectorDeps,
  startPollWorker,
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

type SourceInput = Extract<NonNullable<ConfigInput["sources"]>[number], { type: "zendesk" }>;
const { redis, keyspace } = useRedis();
const RECORDS = 150;
const PAGE_SIZE = 15;
const DAY_MS = 86_400_000;

describe("Zendesk connector against the simulator", () => {
  let sim: ProviderSimulator;

  const sourceInput = (name: string, overrides: Partial<SourceInput> = {}): SourceInput => {
    const { email, apiToken } = sim.credentials("zendesk");
    return {
      name,
      type: "zendesk",
      baseUrl: sim.baseUrl("zendesk"),
      auth: { email, token: apiToken },
      startFrom: "30d",
      pageSize: PAGE_SIZE,
      rateLimit: { requests: 5_000, per: "1s" },
      timeout: "5s",
      ...overrides,
    };
  };
  const connectorFor = (input: SourceInput) =>
    createConnector(
      SourceConfigSchema.parse(input),
      createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger }),
    );
  const truthIds = () => sim.groundTruth("zendesk").map((record) => String(record.id));
  const listRequests = () => sim.requestLog.filter((r) => r.path.startsWith("/api/v2/audit_logs"));

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["zendesk"],
      seed: 29,
      records: { zendesk: RECORDS },
      start: new Date(Date.now() - 4 * DAY_MS),
      end: new Date(Date.now() - 120_000),
      rateLimit: { zendesk: { requests: 100_000, perMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.setFaults(undefined);
    sim.clearRequestLog();
  });

  it("backfills every record once, oldest first, with cursor pagination and URL-encoded cursors", async () => {
    const { events, checkpoint } = await pullAll(connectorFor(sourceInput("zendesk-backfill")));
    expect(events.map((e) => e.nativeId).sort()).toEqual(truthIds().sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const times = events.map((e) => Date.parse(e.time));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    const truth = new Map(sim.groundTruth("zendesk").map((record) => [String(record.id), record]));
    for (const event of events) {
      expect(AuditEventSchema.parse(event)).toEqual(event);
      expect(event.raw).toEqual(truth.get(event.nativeId));
    }
    expect(WindowCheckpointSchema.parse(checkpoint)).toBeDefined();

    const queries = listRequests().map((r) => new URLSearchParams(r.query));
    expect(queries.length).toBeGreaterThanOrEqual(Math.ceil(RECORDS / PAGE_SIZE));
    for (const query of queries) {
      expect(query.get("page[size]")).toBe(String(PAGE_SIZE));
      expect(query.has("page")).toBe(false);
      expect(query.has("per_page")).toBe(false);
      expect(query.getAll("filter[created_at][]")).toHaveLength(2);
    }
    // Zendesk cursors hold `+`; sent raw it would arrive as a space and be refused.
    expect(listRequests().some((r) => r.query.includes("page%5Bafter%5D=") && r.query.includes("%2B"))).toBe(true);
  });

  it("reads a long backfill in contiguous created_at windows: a first month, then sized from the density", async () => {
    const { events } = await pullAll(connectorFor(sourceInput("zendesk-long", { startFrom: "75d" })));
    expect(events).toHaveLength(RECORDS);
    const firstPages = listRequests()
      .map((r) => new URLSearchParams(r.query))
      .filter((q) => !q.has("page[after]"))
      .map((q) => q.getAll("filter[created_at][]").map((t) => Date.parse(t)) as [number, number]);
    // 75 days: a first month, then the rest at once (the density seen allows far more than that).
    expect(firstPages).toHaveLength(2);
    // Whole seconds, reaching a second past the window on both sides (bounds are UNCONFIRMED): neighbours overlap by 2–3 s.
    expect(firstPages[0]![1] - firstPages[0]![0]).toBeLessThanOrEqual(30 * DAY_MS + 4_000);
    for (let i = 1; i < firstPages.length; i++) {
      const overlap = firstPages[i - 1]![1] - firstPages[i]![0];
      expect(overlap === 2_000 || overlap === 3_000).toBe(true);
    }
  });

  it("picks up exactly the appended records on the next run (re-reading only the lookback)", async () => {
    const connector = connectorFor(sourceInput("zendesk-incremental"));
    const first = await pullAll(connector);
    const appended = sim.append("zendesk", 6).map((record) => String(record.id));
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

  it("authenticates with an OAuth token as well", async () => {
    const { events } = await pullAll(
      connectorFor(sourceInput("zendesk-oauth", { auth: { oauthToken: sim.credentials("zendesk").oauthToken } })),
    );
    expect(events).toHaveLength(sim.groundTruth("zendesk").length);
  });

  it("still reads everything exactly while the API fails, throttles (text/plain 429) and stalls", async () => {
    sim.setFaults({ rate: 0.2, kinds: ["500", "429", "slow"], seed: 6, maxDelayMs: 200 });
    const { events } = await pullAll(connectorFor(sourceInput("zendesk-faults")));
    expect(events.map((e) => e.nativeId).sort()).toEqual(truthIds().sort());
    expect(sim.requestLog.filter((r) => r.fault === "429").length).toBeGreaterThan(0);
  });

  it("reports a wrong API token (401) and a forbidden OAuth token (403) clearly, once, without the secret", async () => {
    const { email, forbiddenOAuthToken } = sim.credentials("zendesk");
    const wrong = "zd-wrong-api-token-1234";
    for (const [auth, secret] of [
      [{ email, token: wrong }, wrong],
      [{ oauthToken: forbiddenOAuthToken }, forbiddenOAuthToken],
    ] as const) {
      sim.clearRequestLog();
      const connector = connectorFor(sourceInput("zendesk-badauth", { auth }));
      const error = await pullAll(connector).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).retryable).toBe(false);
      expect((error as Error).message).toMatch(
        /^source zendesk-badauth: authentication failed \(HTTP (401|403)\): check the credentials of source zendesk-badauth/,
      );
      expect((error as Error).message).not.toContain(secret);
      expect(sim.requestLog).toHaveLength(1);
      await expect(connector.check()).rejects.toThrow(/check the credentials/);
    }
    await expect(connectorFor(sourceInput("zendesk-check")).check()).resolves.toBeUndefined();
  });

  it("stops at a malformed page naming its window, leaves the checkpoint, and resumes once it is fixed", async () => {
    const ks = keyspace();
    const source = sourceInput("zendesk-malformed");
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
      expect(await worker.pullOnce(source.name)).toMatchObject({ events: sim.groundTruth("zendesk").length });
      const before = await store.get(source.name);
      const appended = sim.append("zendesk", 4).map((record) => String(record.id));
      sim.setFaults({ rate: 1, kinds: ["malformed"], seed: 8 });
      const broken = await worker.pullOnce(source.name);
      expect(broken.events).toBe(0);
      expect(broken.error).toMatch(
        /^source zendesk-malformed: GET \/api\/v2\/audit_logs created_at=\[\S+, \S+\] \(first page\)/,
      );
      expect(broken.error).toMatch(/not valid JSON|: audit_logs\.\d+\./);
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
