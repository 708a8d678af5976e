// One suite every provider connector passes, against the provider simulator:
// complete backfills, exact incremental pulls, faults, bad credentials, malformed pages.
import {
  AuditEventSchema,
  createConfigSchema,
  createMetrics,
  EventBatchJobSchema,
  openQueues,
  silentLogger,
  type Keyspace,
} from "@vigil/core";
import { startProviderSimulator, type ProviderName, type ProviderSimulator } from "@vigil/simulator";
import type { RedisClient } from "@vigil/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createConnectorDeps } from "../kit/connector-deps.js";
import { PROVIDER_MANIFESTS, SourceConfigSchema, createConnector, type SourceConfig } from "../providers/registry.js";
import { CheckpointStore } from "../runtime/checkpoint-store.js";
import { startPollWorker } from "../runtime/poll-worker.js";
import { expectCredentialsRefused } from "./expectations.js";
import { pullAll } from "./pull-all.js";

export interface ProviderConformanceOptions {
  /** The Redis connection the suite uses; the caller closes it. */
  redis: RedisClient;
  /** A fresh keyspace on each call; the caller deletes them. */
  keyspace(): Keyspace;
  /** Records the simulator serves (default 260). */
  records?: number;
}

/** The config schema with this package's sources and no channels, for the poll-worker case. */
const ConnectorsConfigSchema = createConfigSchema({ source: SourceConfigSchema, channel: z.never() });

/** The cases every registered provider passes (STYLE.md: one conformance suite per contract). */
export function describeProviderConformance(provider: ProviderName, options: ProviderConformanceOptions): void {
  const { redis, keyspace } = options;
  const records = options.records ?? 260;
  const manifest = PROVIDER_MANIFESTS.find((candidate) => candidate.type === provider);
  if (!manifest) throw new Error(`describeProviderConformance: "${provider}" is not a registered provider`);

  const authFor = (sim: ProviderSimulator, wrong = false): Record<string, string> => {
    const credentials = sim.credentials(provider) as unknown as Record<string, string>;
    return manifest.provider.simulatorAuth(credentials, (value) => (wrong ? `${value.slice(0, -4)}nope` : value));
  };
  const sourceInput = (sim: ProviderSimulator, name: string, wrongAuth = false) => ({
    name,
    type: provider,
    baseUrl: sim.baseUrl(provider),
    allowInsecureHttp: true,
    auth: authFor(sim, wrongAuth),
    startFrom: "30d",
    lookback: "10m",
    // A small page, or for an unpaged provider the smallest window bound: a few hundred records span many requests.
    ...(manifest.provider.conformancePageSize
      ? { pageSize: manifest.provider.conformancePageSize }
      : { windowRecords: 100 }),
    rateLimit: { requests: 2_000, per: "1s" },
    timeout: "5s",
  });
  const sourceFor = (sim: ProviderSimulator, name: string, wrongAuth = false): SourceConfig =>
    SourceConfigSchema.parse(sourceInput(sim, name, wrongAuth));
  const deps = () => createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger });
  const nativeIds = (items: readonly unknown[]) => items.map((r) => String((r as { id: string | number }).id));

  describe(`${provider} connector conformance`, () => {
    let sim: ProviderSimulator;
    const truthIds = () => nativeIds(sim.groundTruth(provider));

    beforeAll(async () => {
      sim = await startProviderSimulator({
        providers: [provider],
        seed: 11,
        records: { [provider]: records },
        start: new Date(Date.now() - 5 * 86_400_000),
        end: new Date(Date.now() - 60_000),
        rateLimit: { [provider]: { requests: 100_000, perMs: 1_000 } },
      });
    });
    afterAll(async () => {
      await sim.close();
    });

    it("backfills exactly the provider's records: none missing, none twice, oldest first, normalized", async () => {
      const source = sourceFor(sim, `${provider}-conformance`);
      const { events, checkpoint } = await pullAll(createConnector(source, deps()));
      const ids = events.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(
        truthIds()
          .map((id) => `${source.name}:${id}`)
          .sort(),
      );
      const times = events.map((e) => Date.parse(e.time));
      expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
      const truth = new Map(sim.groundTruth(provider).map((r) => [String((r as { id: string | number }).id), r]));
      for (const event of events) {
        expect(AuditEventSchema.parse(event)).toEqual(event);
        expect(event).toMatchObject({ source: source.name, provider, id: `${source.name}:${event.nativeId}` });
        expect(event.time).toBe(new Date(event.time).toISOString());
        expect(event.raw).toEqual(truth.get(event.nativeId));
      }
      expect(checkpoint).toBeDefined();
    });

    it("picks up exactly the appended records on the next run", async () => {
      const connector = createConnector(sourceFor(sim, `${provider}-incremental`), deps());
      const first = await pullAll(connector);
      const appended = nativeIds(sim.append(provider, 17));
      const second = await pullAll(connector, first.checkpoint);
      const seen = new Set(first.events.map((e) => e.id));
      const fresh = second.events.filter((e) => !seen.has(e.id)).map((e) => e.nativeId);
      expect(fresh.sort()).toEqual([...appended].sort());
      // What the lookback re-reads is only ever what was already pulled (the poll worker drops it).
      expect(second.events.length - fresh.length).toBeLessThan(first.events.length);
    });

    it("quiet after its first pull, moves its watermark within one poll interval (a quiet source holds no rule back)", async () => {
      const connector = createConnector(sourceFor(sim, `${provider}-quiet`), deps());
      const start = Date.now();
      const first = await pullAll(connector, undefined, { now: new Date(start) });
      expect(first.watermark).toBeDefined();
      // One poll interval (the default 1m) later, with nothing new at the provider.
      const next = await pullAll(connector, first.checkpoint, { now: new Date(start + 60_000) });
      expect(next.events.filter((e) => !first.events.some((seen) => seen.id === e.id))).toEqual([]);
      expect(next.watermark).toBeGreaterThan(first.watermark!);
      // It never promises more than its lookback allows: nothing the provider can still show is below it.
      expect(next.watermark).toBeLessThanOrEqual(start + 60_000 - 10 * 60_000);
    });

    it("still backfills everything exactly while the provider fails, throttles and stalls", async () => {
      sim.clearRequestLog();
      sim.setFaults({ rate: 0.3, kinds: ["500", "429", "slow"], seed: 5, maxDelayMs: 200 });
      try {
        const { events } = await pullAll(createConnector(sourceFor(sim, `${provider}-faults`), deps()));
        expect(events.map((e) => e.nativeId).sort()).toEqual(truthIds().sort());
        expect(sim.requestLog.some((r) => r.fault)).toBe(true);
      } finally {
        sim.setFaults(undefined);
      }
    });

    it("reports bad credentials clearly, after one request, without the secret; check() says the same", async () => {
      const source = sourceFor(sim, `${provider}-badauth`, true);
      sim.clearRequestLog();
      await expectCredentialsRefused(createConnector(source, deps()), {
        status: "(401|403)",
        secret: Object.values(authFor(sim, true)).at(-1)!,
        requests: () => sim.requestLog.length,
      });
      await expect(createConnector(sourceFor(sim, `${provider}-check`), deps()).check()).resolves.toBeUndefined();
    });

    it("leaves the checkpoint where it was when a page is malformed, and resumes once it is fixed", async () => {
      const ks = keyspace();
      const config = ConnectorsConfigSchema.parse({
        redis: { prefix: ks.prefix },
        sources: [sourceInput(sim, `${provider}-malformed`)],
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
        expect(broken.error).toMatch(new RegExp(`^source ${source.name}: `));
        expect(broken.events).toBe(0);
        expect(await store.get(source.name)).toEqual(before);
        sim.setFaults(undefined);
        const fixed = await worker.pullOnce(source.name);
        expect(fixed.error).toBeUndefined();
        expect(fixed.events).toBe(appended.length);
        const batches = (await queues.events.getJobs(["waiting"])).filter((job) => job.name !== "watermark");
        const queued = batches.flatMap((job) => EventBatchJobSchema.parse(job.data).events.map((e) => e.nativeId));
        expect(new Set(queued).size).toBe(queued.length);
        expect(queued.sort()).toEqual(truthIds().sort());
      } finally {
        sim.setFaults(undefined);
        await worker.close();
        await queues.close();
      }
    });
  });
}
