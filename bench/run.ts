// `pnpm bench [engine] [decisions] [shards] [matches] [backfill]`: Vigil's benchmarks (all when none is named).
// Figures vary ±20% on a shared 2-core machine; run twice.
import { PROVIDER_MANIFESTS } from "@vigil/connectors";
import { PROVIDER_NAMES as PROVIDERS, type ProviderName } from "@vigil/simulator";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { runBackfillBench, runRestartingBackfillBench, runSparseBackfillBench } from "./backfill.bench.js";
import { runDecisionBacklogBench } from "./decisions.bench.js";
import { runEngineBench } from "./engine.bench.js";
import { runMatchesBench } from "./matches.bench.js";
import { runShardsBench } from "./shards.bench.js";

const redisUrl = process.env.VIGIL_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const events = Number(process.env.VIGIL_BENCH_EVENTS ?? 200_000);
const concurrency = Number(process.env.VIGIL_BENCH_CONCURRENCY ?? 8);
const rounds = Number(process.env.VIGIL_BENCH_ROUNDS ?? 3);
const backfillSeconds = Number(process.env.VIGIL_BENCH_BACKFILL_SECONDS ?? 12);
const restartSeconds = Number(process.env.VIGIL_BENCH_RESTART_SECONDS ?? 30);

/** The connectors role's memory limit in the Helm chart's values (MiB). */
function connectorMemoryLimitMiB(): number {
  const values = parseYaml(readFileSync(new URL("../deploy/helm/vigil/values.yaml", import.meta.url), "utf8")) as {
    roles: { connectors: { resources: { limits: { memory: string } } } };
  };
  const memory = values.roles.connectors.resources.limits.memory;
  const match = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (!match) throw new Error(`the chart's connector memory limit ${memory} is not in Mi or Gi`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}
const which = process.argv.slice(2);
const wants = (name: string) => which.length === 0 || which.includes(name);

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function engineBench() {
  console.log(
    `engine: ${fmt(events)} events in batches of 200 through vigil-events, one worker process (concurrency ${concurrency}), every line from this one run: each configuration ran ${rounds} times, interleaved; its median round is shown`,
  );
  const r = await runEngineBench({
    events,
    redisUrl,
    concurrency,
    only: process.env.VIGIL_BENCH_ONLY,
    rounds,
    profileDir: process.env.VIGIL_BENCH_PROFILE_DIR,
  });
  const { ceiling, vigil50, vigil50Geo, vigil200, vigil50Stateful, vigilPack, vigilPackGeo, jsonLogic50, naive50 } =
    r.runs;
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
  const times = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const busy = (run: typeof ceiling) =>
    run.redisBusy === undefined
      ? ""
      : `busy: Redis ${pct(run.redisBusy, 1).padStart(4)}, worker ${pct(run.workerBusy ?? 0, 1).padStart(4)}`;
  const spread = (run: typeof ceiling) =>
    run.rates && run.rates.length > 1 ? `  rounds ${run.rates.map((r) => fmt(r / 1000)).join("/")}k` : "";
  const line = (label: string, run: typeof ceiling, extra = "") =>
    console.log(
      `  ${label.padEnd(46)}${fmt(run.rate).padStart(9)} events/s  ${run.roundTripsPerBatch.toFixed(2).padStart(6)} Redis round trips/batch  ${fmt(run.alerts).padStart(6)} alerts  ${busy(run)}${spread(run)}${extra}`,
    );
  line("ceiling (validate only, no rule)", ceiling);
  line("Vigil, 50 rules (10 windowed)", vigil50);
  line(
    "Vigil, 50 rules, IP enrichment on",
    vigil50Geo,
    `  (${pct(vigil50Geo.rate, vigil50.rate)} of Vigil-50; rounds side by side: ${(vigil50Geo.roundRates ?? []).map((rate, i) => pct(rate, vigil50.roundRates?.[i] ?? Number.NaN)).join("/")})`,
  );
  line("Vigil, 200 rules (40 windowed)", vigil200);
  line(
    "Vigil, 50 rules (10 windowed, 8 seq./newValue/absence)",
    vigil50Stateful,
    `  (${pct(vigil50Stateful.rate, vigil50.rate)} of Vigil-50)`,
  );
  line(
    "Vigil, the shipped rule pack (rules/, every kind)",
    vigilPack,
    `  (${pct(vigilPack.rate, vigil50.rate)} of Vigil-50)`,
  );
  line(
    "Vigil, the shipped rule pack, IP enrichment on",
    vigilPackGeo,
    `  (${pct(vigilPackGeo.rate, vigilPack.rate)} of the pack without, whose geo rules see no location; rounds side by side: ${(vigilPackGeo.roundRates ?? []).map((rate, i) => pct(rate, vigilPack.roundRates?.[i] ?? Number.NaN)).join("/")})`,
  );
  line("json-logic-js path, 50 rules (no index)", jsonLogic50);
  line("naive assembly, 50 rules", naive50, `  (exact: ${fmt(vigil50.alerts)})`);
  console.log(`  Redis memory per tracked event (Vigil-50 windows): ${vigil50.bytesPerTrackedEvent?.toFixed(1)} B`);
  console.log(
    `  evaluation only, no Redis, no queue: Vigil ${fmt(r.evaluationOnly.vigil50)} events/s, json-logic-js ${fmt(r.evaluationOnly.jsonLogic50)} events/s (50 rules)`,
  );
  const geoRounds = r.evaluationOnly.geoRounds;
  if (geoRounds.length)
    console.log(
      `  evaluation only, with / without IP enrichment, each round: ${geoRounds.map((g) => `${fmt(g.with)} / ${fmt(g.without)} (${pct(g.with, g.without)})`).join(", ")}`,
    );
  const packGeoRounds = r.evaluationOnly.packGeoRounds;
  if (packGeoRounds.length)
    console.log(
      `  evaluation only, the shipped pack (its travel and new-country rules read geo), enriching / on events located beforehand (the same rule work), each round: ${packGeoRounds.map((g) => `${fmt(g.with)} / ${fmt(g.without)} (${pct(g.with, g.without)})`).join(", ")}`,
    );
  console.log(`  targets (ratios within this run):`);
  const target = (label: string, value: string, ok: boolean, goal: string) =>
    console.log(`    ${label.padEnd(38)}${value.padStart(7)}  (target ${goal}) ${ok ? "met" : "NOT met"}`);
  target("Vigil-50 / ceiling", pct(vigil50.rate, ceiling.rate), vigil50.rate >= 0.5 * ceiling.rate, "≥ 50%");
  target(
    "Vigil-50 with / without IP enrichment",
    pct(vigil50Geo.rate, vigil50.rate),
    vigil50Geo.rate >= 0.9 * vigil50.rate,
    "≥ 90%",
  );
  const packRatios = packGeoRounds.map((g) => g.with / g.without).sort((a, b) => a - b);
  const packRatio = packRatios[Math.floor(packRatios.length / 2)] ?? Number.NaN;
  target("the pack enriching / located (eval.)", pct(packRatio, 1), packRatio >= 0.9, "≥ 90%, median round");
  target("Vigil-200 / ceiling", pct(vigil200.rate, ceiling.rate), vigil200.rate >= 0.35 * ceiling.rate, "≥ 35%");
  target(
    "Vigil-50 / json-logic-js path",
    times(vigil50.rate, jsonLogic50.rate),
    vigil50.rate >= 2.5 * jsonLogic50.rate,
    "≥ 2.5×",
  );
  target("Vigil-50 / naive assembly", times(vigil50.rate, naive50.rate), vigil50.rate >= 3 * naive50.rate, "≥ 3×");
  console.log(
    `    json-logic-js path alerts ${jsonLogic50.alerts === vigil50.alerts ? "equal" : "DIFFER from"} Vigil's (${fmt(jsonLogic50.alerts)})`,
  );
}

function matchesBench() {
  const r = runMatchesBench({ events: Math.min(events, 50_000), rounds });
  console.log(
    `\nmatches: ${PATTERNS_NOTE}, RE2 (re2js) against JavaScript's backtracking RegExp, in process; ${rounds} rounds interleaved, median shown`,
  );
  const row = (label: string, run: typeof r.re2) =>
    console.log(
      `  ${label.padEnd(22)}${fmt(run.rate).padStart(12)} tests/s  ${fmt(run.matched).padStart(7)} matched  rounds ${run.rates.map((x) => fmt(x / 1000)).join("/")}k`,
    );
  row("RE2 (re2js)", r.re2);
  row("backtracking RegExp", r.backtracking);
  console.log(
    `  RE2 / backtracking: ${(r.re2.rate / r.backtracking.rate).toFixed(2)}× (rounds: ${r.re2.rates.map((x, i) => (x / r.backtracking.rates[i]!).toFixed(2)).join(", ")})`,
  );
  for (const h of r.hostile)
    console.log(
      `  ^([A-Za-z]+ ?)+$ on 'a'×${h.chars}+'!': RE2 ${h.re2Ms.toFixed(1)} ms, backtracking ${h.backtrackingMs === undefined ? "not run (would not finish)" : `${h.backtrackingMs.toFixed(1)} ms`}`,
    );
}

/** What the matches bench tests. */
const PATTERNS_NOTE = "five detection patterns per event on the engine bench's events";

async function backfillBench() {
  const limitMiB = connectorMemoryLimitMiB();
  console.log(
    `\nbackfill: a full pull from the simulator at each provider's documented rate limit (target ≥ 90% of the bound, no 429); peak heap growth (garbage included) against the chart's connector memory limit, ${limitMiB} MiB (target < 50%)`,
  );
  console.log(
    `  ${"provider".padEnd(11)}${"records".padStart(9)}${"requests".padStart(10)}${"seconds".padStart(9)}${"records/s".padStart(11)}${"bound".padStart(9)}${"of bound".padStart(10)}${"429s".padStart(6)}${"heap".padStart(10)}${"of limit".padStart(10)}`,
  );
  for (const provider of PROVIDERS) {
    const r = await runBackfillBench(provider, { redisUrl, seconds: backfillSeconds });
    const share = r.bound ? `${((r.rate / r.bound) * 100).toFixed(0)}%` : "n/a";
    const ofLimit = r.peakHeapMiB / limitMiB;
    console.log(
      `  ${provider.padEnd(11)}${fmt(r.records).padStart(9)}${fmt(r.requests).padStart(10)}${r.seconds.toFixed(1).padStart(9)}${fmt(r.rate).padStart(11)}${(r.bound ? fmt(r.bound) : "no pages").padStart(9)}${share.padStart(10)}${String(r.throttled).padStart(6)}${`${r.peakHeapMiB.toFixed(0)} MiB`.padStart(10)}${`${(ofLimit * 100).toFixed(0)}%`.padStart(10)}  ${ofLimit < 0.5 ? "ok" : "MISSED"}`,
    );
  }
  const restartEveryMs = 10_000;
  console.log(
    `\nbackfill, restarted every ${restartEveryMs / 1000} s: a dense pull of about ${restartSeconds} s at the documented rate, stopped and started again from its last checkpoint with a new connector (requests against the fewest the window limit and page allow)`,
  );
  console.log(
    `  ${"provider".padEnd(11)}${"records".padStart(9)}${"delivered".padStart(11)}${"restarts".padStart(10)}${"requests".padStart(10)}${"fewest".padStart(8)}${"ratio".padStart(8)}${"held".padStart(8)}${"ratio".padStart(8)}${"seconds".padStart(9)}`,
  );
  console.log(
    `  ("held": the fewest once no window holds more than the provider's default windowRecords, for APIs that cannot list oldest first)`,
  );
  for (const provider of PROVIDERS) {
    const r = await runRestartingBackfillBench(provider, { redisUrl, seconds: restartSeconds, restartEveryMs });
    const listing = PROVIDER_MANIFESTS.find((m) => m.type === provider)?.provider.listing;
    const held =
      listing?.oldestFirst === false
        ? Math.max(r.minimumRequests, Math.ceil(r.records / listing.windowRecords))
        : r.minimumRequests;
    console.log(
      `  ${provider.padEnd(11)}${fmt(r.records).padStart(9)}${fmt(r.delivered).padStart(11)}${String(r.restarts).padStart(10)}${fmt(r.requests).padStart(10)}${fmt(r.minimumRequests).padStart(8)}${`${(r.requests / r.minimumRequests).toFixed(2)}×`.padStart(8)}${fmt(held).padStart(8)}${`${(r.requests / held).toFixed(2)}×`.padStart(8)}${r.seconds.toFixed(1).padStart(9)}`,
    );
  }
  console.log(
    `\nbackfill, sparse: 300 records over 120 days per time-windowed provider (target ≤ 2× the fewest requests its window limit and page allow)`,
  );
  console.log(
    `  ${"provider".padEnd(11)}${"records".padStart(9)}${"requests".padStart(10)}${"fewest".padStart(8)}${"ratio".padStart(8)}${"seconds".padStart(9)}${"heap".padStart(10)}`,
  );
  for (const manifest of PROVIDER_MANIFESTS.filter((m) => m.provider.limits.timeWindows)) {
    const r = await runSparseBackfillBench(manifest.type as ProviderName, { redisUrl });
    const ratio = r.requests / r.minimumRequests;
    console.log(
      `  ${r.provider.padEnd(11)}${fmt(r.records).padStart(9)}${fmt(r.requests).padStart(10)}${fmt(r.minimumRequests).padStart(8)}${`${ratio.toFixed(1)}×`.padStart(8)}${r.seconds.toFixed(1).padStart(9)}${`${r.peakHeapMiB.toFixed(0)} MiB`.padStart(10)}  ${ratio <= 2 ? "ok" : "MISSED"}`,
    );
  }
}

async function decisionsBench() {
  const pending = Number(process.env.VIGIL_BENCH_PENDING ?? 100_000);
  console.log(
    `\ndecisions held back by a lagging source, then released by one watermark (${fmt(pending)} pending; target: no call blocks Redis over 50 ms)`,
  );
  for (const kind of ["absence", "newValue"] as const) {
    const r = await runDecisionBacklogBench({ redisUrl, pending, kind });
    console.log(
      `  ${kind.padEnd(9)} ${r.bytesPerPending.toFixed(0).padStart(5)} B of Redis per pending decision; released in ${r.calls} calls: Redis blocked ${r.maxRedisMs.toFixed(1)} ms at most per call (median ${r.medianRedisMs.toFixed(1)} ms); client side ${r.maxCallMs.toFixed(0)} ms at most; ${fmt(r.alerts)} alerts  ${r.maxRedisMs <= 50 ? "met" : "NOT met"}`,
    );
  }
}

async function shardsBench() {
  const shardEvents = Number(process.env.VIGIL_BENCH_SHARD_EVENTS ?? 100_000);
  const shards = Number(process.env.VIGIL_BENCH_SHARDS ?? 6);
  console.log(
    `\nrule state on 1 Redis against a Redis Cluster of 3 primaries (every primary with 1 replica): ${fmt(shardEvents)} events of the stateful 50-rule mix, batches of 200 through the engine one at a time, a mark every 25; per primary, from its INFO`,
  );
  const runs = await runShardsBench({ events: shardEvents, shards, basePort: 7190 });
  for (const run of runs) {
    console.log(
      `  ${run.label}: ${fmt(run.rate)} events/s wall (every node on this machine's 2 cores), ${fmt(run.alerts)} alerts`,
    );
    for (const node of run.nodes)
      console.log(
        `    :${node.port}  ${node.callsPerBatch.toFixed(2).padStart(5)} script calls/batch  ${node.cpuPerEventUs.toFixed(1).padStart(5)} µs Redis CPU/event  ${fmt(node.keys).padStart(7)} keys`,
      );
  }
  const [one, cluster] = runs as [(typeof runs)[0], (typeof runs)[0]];
  const singleCpu = one.nodes.reduce((sum, n) => sum + n.cpuPerEventUs, 0);
  const busiest = Math.max(...cluster.nodes.map((n) => n.cpuPerEventUs));
  const total = cluster.nodes.reduce((sum, n) => sum + n.cpuPerEventUs, 0);
  const keys = cluster.nodes.map((n) => n.keys);
  console.log(
    `  spread: the busiest primary does ${((busiest / total) * 100).toFixed(0)}% of the cluster's Redis CPU (even: 33%), keys per primary ${keys.map(fmt).join(" / ")}; all primaries together spend ${(total / singleCpu).toFixed(2)}× the single node's CPU per event`,
  );
  console.log(
    `  on paper, each primary on a core of its own: Redis-bound throughput ${(singleCpu / busiest).toFixed(2)}× one node's (its CPU per event over the busiest primary's)`,
  );
}

async function main() {
  if (wants("engine")) await engineBench();
  if (wants("engine") || wants("decisions")) await decisionsBench();
  if (wants("engine") || wants("shards")) await shardsBench();
  if (wants("matches")) matchesBench();
  if (wants("backfill")) await backfillBench();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
