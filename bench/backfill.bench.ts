import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createRedis, deleteKeyspace, Keyspace, silentLogger } from "@vigil/core";
import {
  createConnector,
  createConnectorDeps,
  PROVIDER_MANIFESTS,
  SourceConfigSchema,
  type ProviderManifest,
} from "@vigil/connectors";

type ProviderLimits = ProviderManifest["provider"]["limits"];
import type { ProviderName } from "@vigil/simulator";
import { startSimulatorThread } from "./simulator-thread.js";

export interface BackfillBenchResult {
  provider: ProviderName;
  records: number;
  requests: number;
  throttled: number;
  seconds: number;
  rate: number;
  /** Requests per second the documented limit allows, times the largest page; undefined where the API has no pages. */
  bound?: number;
  /** The fewest requests the documented window limit and largest page allow for these records. */
  minimumRequests: number;
  /** The largest heap growth seen while pulling (MiB, garbage included): the pull holds at most one window's events. */
  peakHeapMiB: number;
}

const DAY_MS = 86_400_000;

/**
 * The fewest requests that can read `records` spread over `spanMs`: one per window the documented
 * window limit forces, and one per full page.
 */
function minimumRequests(limits: ProviderLimits, records: number, spanMs: number): number {
  const windows = limits.timeWindows?.maxMs ? Math.ceil(spanMs / limits.timeWindows.maxMs) : 1;
  return Math.max(windows, limits.maxPageSize ? Math.ceil(records / limits.maxPageSize) : 1);
}

/**
 * Pulls a full backfill from the simulator, which enforces the provider's documented rate limit,
 * with the connector at its documented limit and largest page, and compares the rate with the
 * bound that limit allows. The simulator runs on a worker thread of its own, as a real provider
 * would not share the connector's core; the bench reads its request log summary by message.
 */
export async function runBackfillBench(
  provider: ProviderName,
  options: { redisUrl: string; seconds: number },
): Promise<BackfillBenchResult> {
  const { limits } = manifestOf(provider).provider;
  const requestsPerSecond = limits.rateLimit.requests / (limits.rateLimit.perMs / 1000);
  const bound = limits.maxPageSize ? requestsPerSecond * limits.maxPageSize : undefined;
  const records = Math.round(Math.min(200_000, Math.max(3_000, (bound ?? 20_000) * options.seconds)));
  return { ...(await pullFromSimulator(provider, options.redisUrl, records, 6 * DAY_MS)), bound };
}

/**
 * A quiet organization's backfill: a few hundred records over 120 days, pulled from the start.
 * Reports the requests used against the fewest the documented window limit and page allow.
 */
export async function runSparseBackfillBench(
  provider: ProviderName,
  options: { redisUrl: string; records?: number; days?: number },
): Promise<BackfillBenchResult> {
  return pullFromSimulator(provider, options.redisUrl, options.records ?? 300, (options.days ?? 120) * DAY_MS);
}

function manifestOf(provider: ProviderName) {
  const manifest = PROVIDER_MANIFESTS.find((m) => m.type === provider);
  if (!manifest) throw new Error(`no connector for provider ${provider}`);
  return manifest;
}

async function pullFromSimulator(
  provider: ProviderName,
  redisUrl: string,
  records: number,
  spanMs: number,
): Promise<Omit<BackfillBenchResult, "bound">> {
  const manifest = manifestOf(provider);
  const { limits } = manifest.provider;
  const now = Date.now();
  const pullSpanMs = (Math.ceil(spanMs / DAY_MS) + 1) * DAY_MS;
  const sim = await startSimulatorThread({
    providers: [provider],
    seed: 3,
    records: { [provider]: records },
    start: new Date(now - spanMs),
    end: new Date(now - 60_000),
  });
  const redis = createRedis(redisUrl);
  const keyspace = new Keyspace(`bench-${randomBytes(4).toString("hex")}`);
  try {
    const source = SourceConfigSchema.parse({
      name: `${provider}-bench`,
      type: provider,
      baseUrl: sim.baseUrl(provider),
      allowInsecureHttp: true,
      auth: manifest.provider.simulatorAuth(sim.credentials(provider) as unknown as Record<string, string>),
      startFrom: `${pullSpanMs / DAY_MS}d`,
    });
    const connector = createConnector(source, createConnectorDeps({ redis, keyspace, logger: silentLogger }));
    let pulled = 0;
    // From a collected heap (pnpm bench runs node with --expose-gc), so the peak is this pull's.
    (globalThis as { gc?: () => void }).gc?.();
    const baseHeap = process.memoryUsage().heapUsed;
    let peakHeap = baseHeap;
    const start = performance.now();
    for await (const page of connector.pull(undefined, { signal: new AbortController().signal, now: new Date() })) {
      pulled += page.events.length;
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    const seconds = (performance.now() - start) / 1000;
    const log = await sim.requestLogSummary();
    return {
      provider,
      records: pulled,
      requests: log.requests,
      throttled: log.throttled,
      seconds,
      rate: pulled / seconds,
      minimumRequests: minimumRequests(limits, pulled, pullSpanMs),
      peakHeapMiB: (peakHeap - baseHeap) / 2 ** 20,
    };
  } finally {
    await sim.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  }
}
