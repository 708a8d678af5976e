// One suite every provider connector passes, against the provider simulator:
// complete backfills, exact incremental pulls, faults, bad credentials, malformed pages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuditEventSchema,
  ConnectorError,
  createMetrics,
  EventBatchJobSchema,
  openQueues,
  silentLogger,
} from "@vigil/core";
import { VigilConfigSchema as ConfigSchema } from "@vigil/cli";
import {
  CheckpointStore,
  createConnector,
  createConnectorDeps,
  PROVIDER_MANIFESTS,
  startPollWorker,
  SourceConfigSchema,
  type SourceConfig,
} from "@vigil/connectors";
import { startProviderSimulator, type ProviderSimulator, type ProviderName } from "@vigil/simulator";
import { useRedis } from "../helpers.js";
import { pullAll } from "./pull-all.js";

/** Every registered provider: the suite's cases come from the source registry. */
const PROVIDERS = PROVIDER_MANIFESTS.map((manifest) => manifest.type) as ProviderName[];
const RECORDS = 260;

const { redis, keyspace } = useRedis();

function manifestOf(provider: ProviderName) {
  return PROVIDER_MANIFESTS.find((manifest) => manifest.type === provider)!;
}

function authFor(provider: ProviderName, sim: ProviderSimulator, wrong = false): Record<string, string> {
  const credentials = sim.credentials(provider) as unknown as Record<string, string>;
  return manifestOf(provider).provider.simulatorAuth(credentials, (value) =>
    wrong ? `${value.slice(0, -4)}nope` : value,
  );
}

function sourceInput(
  provider: ProviderName,
  sim: ProviderSimulator,
  options: { wrongAuth?: boolean; name?: string } = {},
) {
  return {
    name: options.name ?? `${provider}-conformance`,
    type: provider,
    baseUrl: sim.baseUrl(provider),
    auth: authFor(provider, sim, options.wrongAuth),
    startFrom: "30d",
    lookback: "10m",
    ...(manifestOf(provider).provider.conformancePageSize
      ? { pageSize: manifestOf(provider).provider.conformancePageSize }
      : {}),
    rateLimit: { requests: 2_000, per: "1s" },
    timeout: "5s",
  };
}

function sourceFor(
  provider: ProviderName,
  sim: ProviderSimulator,
  options: { wrongAuth?: boolean; name?: string } = {},
): SourceConfig {
  return SourceConfigSchema.parse(sourceInput(provider, sim, options));
}

const nativeIds = (records: readonly unknown[]) => records.map((r) => String((r as { id: string | number }).id));

describe.each(PROVIDERS)("%s connector", (provider) => {
  let sim: ProviderSimulator;
  const deps = () => createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger });

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: [provider],
      seed: 11,
      records: { [provider]: RECORDS },
      start: new Date(Date.now() - 5 * 86_400_000),
      end: new Date(Date.now() - 60_000),
      rateLimit: { [provider]: { requests: 100_000, perMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("backfills exactly the provider's records: none missing, none twice, oldest first, normalized", async () => {
    const source = sourceFor(provider, sim);
    const { events, checkpoint } = await pullAll(createConnector(source, deps()));
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(
      nativeIds(sim.groundTruth(provider))
        .map((id) => `${source.name}:${id}`)
        .sort(),
    );
    const times = events.map((e) => Date.parse(e.time));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    for (const event of events) {
      expect(AuditEventSchema.safeParse(event).success).toBe(true);
      expect(event).toMatchObject({ source: source.name, provider, id: `${source.name}:${event.nativeId}` });
      expect(event.time).toBe(new Date(event.time).toISOString());
    }
    const truth = new Map(sim.groundTruth(provider).map((r) => [String((r as { id: string | number }).id), r]));
    for (const event of events.slice(0, 20)) expect(event.raw).toEqual(truth.get(event.nativeId));
    expect(checkpoint).toBeDefined();
  });

  it("picks up exactly the appended records on the next run", async () => {
    const source = sourceFor(provider, sim, { name: `${provider}-incremental` });
    const connector = createConnector(source, deps());
    const first = await pullAll(connector);
    const appended = nativeIds(sim.append(provider, 17));
    const second = await pullAll(connector, first.checkpoint);
    const seen = new Set(first.events.map((e) => e.id));
    const fresh = second.events.filter((e) => !seen.has(e.id)).map((e) => e.nativeId);
    expect(fresh.sort()).toEqual([...appended].sort());
    // What the lookback re-reads is only ever what was already pulled (the poll worker drops it).
    expect(second.events.length - fresh.length).toBeLessThan(first.events.length);
  });

  it("still backfills everything exactly while the provider fails, throttles and stalls", async () => {
    sim.setFaults({ rate: 0.3, kinds: ["500", "429", "slow"], seed: 5, maxDelayMs: 200 });
    try {
      const source = sourceFor(provider, sim, { name: `${provider}-faults` });
      const { events } = await pullAll(createConnector(source, deps()));
      expect(events.map((e) => e.nativeId).sort()).toEqual(nativeIds(sim.groundTruth(provider)).sort());
      expect(sim.requestLog.some((r) => r.fault)).toBe(true);
    } finally {
      sim.setFaults(undefined);
    }
  });

  it("reports bad credentials clearly, without retrying and without the secret", async () => {
    const source = sourceFor(provider, sim, { wrongAuth: true, name: `${provider}-badauth` });
    const secret = Object.values(authFor(provider, sim, true)).at(-1)!;
    const error = await pullAll(createConnector(source, deps())).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).retryable).toBe(false);
    expect((error as Error).message).toContain(source.name);
    expect((error as Error).message).toMatch(/401|403|credential|authenticat/i);
    expect((error as Error).message).not.toContain(secret);
    await expect(createConnector(source, deps()).check()).rejects.toThrow(ConnectorError);
  });

  it("leaves the checkpoint where it was when a page is malformed, and resumes once it is fixed", async () => {
    const ks = keyspace();
    const config = ConfigSchema.parse({
      redis: { prefix: ks.prefix },
      sources: [sourceInput(provider, sim, { name: `${provider}-malformed` })],
    });
    const source = config.sources[0]!;
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
    try {
      const first = await worker.pullOnce(source.name);
      expect(first.error).toBeUndefined();
      expect(first.events).toBe(sim.groundTruth(provider).length);
      const store = new CheckpointStore(redis, ks);
      const before = await store.get(source.name);
      const appended = nativeIds(sim.append(provider, 5));
      sim.setFaults({ rate: 1, kinds: ["malformed"], seed: 9 });
      const broken = await worker.pullOnce(source.name);
      expect(broken.error).toMatch(new RegExp(source.name));
      expect(await store.get(source.name)).toEqual(before);
      sim.setFaults(undefined);
      const fixed = await worker.pullOnce(source.name);
      expect(fixed.error).toBeUndefined();
      const queued = (await queues.events.getJobs(["waiting"])).flatMap((job) =>
        EventBatchJobSchema.parse(job.data).events.map((e) => e.nativeId),
      );
      expect(new Set(queued).size).toBe(queued.length);
      expect(appended.every((id) => queued.includes(id))).toBe(true);
      expect(queued.length).toBe(sim.groundTruth(provider).length);
    } finally {
      await worker.close();
      await queues.close();
    }
  });
});
