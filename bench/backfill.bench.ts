import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createRedis, deleteKeyspace, Keyspace, silentLogger } from "@vigil/core";
import { createConnector, createConnectorDeps, PROVIDER_MANIFESTS, SourceConfigSchema } from "@vigil/connectors";
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
  const manifest = PROVIDER_MANIFESTS.find((m) => m.type === provider);
  if (!manifest) throw new Error(`no connector for provider ${provider}`);
  const { limits } = manifest.provider;
  const requestsPerSecond = limits.rateLimit.requests / (limits.rateLimit.perMs / 1000);
  const bound = limits.maxPageSize ? requestsPerSecond * limits.maxPageSize : undefined;
  const records = Math.round(Math.min(200_000, Math.max(3_000, (bound ?? 20_000) * options.seconds)));
  const now = Date.now();
  const sim = await startSimulatorThread({
    providers: [provider],
    seed: 3,
    records: { [provider]: records },
    start: new Date(now - 6 * 86_400_000),
    end: new Date(now - 60_000),
  });
  const redis = createRedis(options.redisUrl);
  const keyspace = new Keyspace(`bench-${randomBytes(4).toString("hex")}`);
  try {
    const source = SourceConfigSchema.parse({
      name: `${provider}-bench`,
      type: provider,
      baseUrl: sim.baseUrl(provider),
      auth: manifest.provider.simulatorAuth(sim.credentials(provider) as unknown as Record<string, string>),
      startFrom: "7d",
    });
    const connector = createConnector(source, createConnectorDeps({ redis, keyspace, logger: silentLogger }));
    let pulled = 0;
    const start = performance.now();
    for await (const page of connector.pull(undefined, { signal: new AbortController().signal, now: new Date() }))
      pulled += page.events.length;
    const seconds = (performance.now() - start) / 1000;
    const log = await sim.requestLogSummary();
    return {
      provider,
      records: pulled,
      requests: log.requests,
      throttled: log.throttled,
      seconds,
      rate: pulled / seconds,
      bound,
    };
  } finally {
    await sim.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  }
}
