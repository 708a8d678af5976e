import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createRedis, deleteKeyspace, Keyspace, silentLogger } from "@vigil/core";
import {
  type Checkpoint,
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
  const { records, bound } = denseRecords(provider, options.seconds);
  return { ...(await pullFromSimulator(provider, options.redisUrl, records, 6 * DAY_MS)), bound };
}

/** Records that take about `seconds` to read at the provider's documented rate and largest page, and that rate as records a second. */
function denseRecords(provider: ProviderName, seconds: number): { records: number; bound: number | undefined } {
  const { limits } = manifestOf(provider).provider;
  const requestsPerSecond = limits.rateLimit.requests / (limits.rateLimit.perMs / 1000);
  const bound = limits.maxPageSize ? requestsPerSecond * limits.maxPageSize : undefined;
  return { records: Math.round(Math.min(200_000, Math.max(3_000, (bound ?? 20_000) * seconds))), bound };
}

export interface RestartingBackfillResult {
  provider: ProviderName;
  records: number;
  /** Records delivered, each once (a page re-read after a restart is dropped by id, as the event sink does). */
  delivered: number;
  /** Pulls stopped by a restart. */
  restarts: number;
  requests: number;
  minimumRequests: number;
  seconds: number;
}

/**
 * A dense backfill whose pull is stopped every `restartEveryMs` and started again from the last
 * checkpoint it handed on, with a connector built afresh (a crash-looping pod): the requests it
 * spends against the fewest the documented window limit and page allow.
 */
export async function runRestartingBackfillBench(
  provider: ProviderName,
  options: { redisUrl: string; seconds: number; restartEveryMs: number },
): Promise<RestartingBackfillResult> {
  const { records } = denseRecords(provider, options.seconds);
  const spanMs = 6 * DAY_MS;
  const pullSpanMs = (Math.ceil(spanMs / DAY_MS) + 1) * DAY_MS;
  return withSimulatedSource(provider, options.redisUrl, records, spanMs, async ({ source, deps, sim }) => {
    const seen = new Set<string>();
    let checkpoint: Checkpoint | undefined;
    let restarts = 0;
    const start = performance.now();
    for (let done = false; !done; ) {
      const connector = createConnector(source, deps);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error("restart")), options.restartEveryMs);
      try {
        for await (const page of connector.pull(checkpoint, { signal: controller.signal, now: new Date() })) {
          // A page handed on after the restart began is lost with the process.
          if (controller.signal.aborted) break;
          for (const event of page.events) seen.add(event.id);
          checkpoint = page.checkpoint;
        }
        done = !controller.signal.aborted;
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      } finally {
        clearTimeout(timer);
      }
      if (!done) restarts += 1;
    }
    const log = await sim.requestLogSummary();
    return {
      provider,
      records,
      delivered: seen.size,
      restarts,
      requests: log.requests,
      minimumRequests: minimumRequests(manifestOf(provider).provider.limits, records, pullSpanMs),
      seconds: (performance.now() - start) / 1000,
    };
  });
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

/** Runs `body` against a simulator thread of the provider holding `records` over `spanMs`, with a source reading it from the start. */
async function withSimulatedSource<T>(
  provider: ProviderName,
  redisUrl: string,
  records: number,
  spanMs: number,
  body: (context: {
    source: ReturnType<typeof SourceConfigSchema.parse>;
    deps: ReturnType<typeof createConnectorDeps>;
    sim: Awaited<ReturnType<typeof startSimulatorThread>>;
  }) => Promise<T>,
): Promise<T> {
  const manifest = manifestOf(provider);
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
    return await body({ source, deps: createConnectorDeps({ redis, keyspace, logger: silentLogger }), sim });
  } finally {
    await sim.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  }
}

async function pullFromSimulator(
  provider: ProviderName,
  redisUrl: string,
  records: number,
  spanMs: number,
): Promise<Omit<BackfillBenchResult, "bound">> {
  const { limits } = manifestOf(provider).provider;
  const pullSpanMs = (Math.ceil(spanMs / DAY_MS) + 1) * DAY_MS;
  return withSimulatedSource(provider, redisUrl, records, spanMs, async ({ source, deps, sim }) => {
    const connector = createConnector(source, deps);
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
  });
}
