// `pnpm bench [engine] [backfill]`: Vigil's benchmarks (both when none is named).
// Figures vary ±20% on a shared 2-core machine; run twice.
import { PROVIDERS } from "@vigil/core";
import { runBackfillBench } from "./backfill.bench.js";
import { runEngineBench } from "./engine.bench.js";

const redisUrl = process.env.VIGIL_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const events = Number(process.env.VIGIL_BENCH_EVENTS ?? 200_000);
const concurrency = Number(process.env.VIGIL_BENCH_CONCURRENCY ?? 8);
const backfillSeconds = Number(process.env.VIGIL_BENCH_BACKFILL_SECONDS ?? 12);
const which = process.argv.slice(2);
const wants = (name: string) => which.length === 0 || which.includes(name);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function engineBench() {
  console.log(`engine: ${fmt(events)} events in batches of 200 through vigil-events (one worker process, concurrency ${concurrency})`);
  const r = await runEngineBench({ events, redisUrl, concurrency });
  console.log(`  rules:                         ${r.rules} (${r.thresholdRules} threshold)`);
  console.log(`  through vigil-events + Redis:  ${fmt(r.queueRate)} events/s  (target ≥ 30,000)`);
  console.log(`  evaluation only (no Redis):    ${fmt(r.evaluationRate)} events/s`);
  console.log(`  ratio:                         ${((r.queueRate / r.evaluationRate) * 100).toFixed(0)}%  (target ≥ 50%)`);
  console.log(`  engine Redis round trips:      ${r.engineRoundTripsPerBatch.toFixed(2)} per batch`);
  console.log(`  alerts raised:                 ${fmt(r.alerts)}`);
}

async function backfillBench() {
  console.log(`\nbackfill: a full pull from the simulator at each provider's documented rate limit (target ≥ 90% of the bound, no 429)`);
  console.log(`  ${"provider".padEnd(11)}${"records".padStart(9)}${"requests".padStart(10)}${"seconds".padStart(9)}${"records/s".padStart(11)}${"bound".padStart(9)}${"of bound".padStart(10)}${"429s".padStart(6)}`);
  for (const provider of PROVIDERS) {
    const r = await runBackfillBench(provider, { redisUrl, seconds: backfillSeconds });
    const share = r.bound ? `${((r.rate / r.bound) * 100).toFixed(0)}%` : "n/a";
    console.log(
      `  ${provider.padEnd(11)}${fmt(r.records).padStart(9)}${fmt(r.requests).padStart(10)}${r.seconds.toFixed(1).padStart(9)}${fmt(r.rate).padStart(11)}${(r.bound ? fmt(r.bound) : "no pages").padStart(9)}${share.padStart(10)}${String(r.throttled).padStart(6)}`,
    );
  }
}

async function main() {
  if (wants("engine")) await engineBench();
  if (wants("backfill")) await backfillBench();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
