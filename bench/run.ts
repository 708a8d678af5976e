// `pnpm bench`: Vigil's benchmarks. Figures vary ±20% on a shared 2-core machine; run twice.
import { runEngineBench } from "./engine.bench.js";

const redisUrl = process.env.VIGIL_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const events = Number(process.env.VIGIL_BENCH_EVENTS ?? 200_000);
const concurrency = Number(process.env.VIGIL_BENCH_CONCURRENCY ?? 8);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main() {
  console.log(`engine: ${fmt(events)} events in batches of 200 through vigil-events (one worker process, concurrency ${concurrency})`);
  const r = await runEngineBench({ events, redisUrl, concurrency });
  console.log(`  rules:                         ${r.rules} (${r.thresholdRules} threshold)`);
  console.log(`  through vigil-events + Redis:  ${fmt(r.queueRate)} events/s  (target ≥ 30,000)`);
  console.log(`  evaluation only (no Redis):    ${fmt(r.evaluationRate)} events/s`);
  console.log(`  ratio:                         ${((r.queueRate / r.evaluationRate) * 100).toFixed(0)}%  (target ≥ 50%)`);
  console.log(`  engine Redis round trips:      ${r.engineRoundTripsPerBatch.toFixed(2)} per batch`);
  console.log(`  alerts raised:                 ${fmt(r.alerts)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
