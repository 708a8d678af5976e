import { describe, expect, it } from "vitest";
import { runRestartingBackfillBench, runSparseBackfillBench } from "../../bench/backfill.bench.js";
import { runEngineBench } from "../../bench/engine.bench.js";
import { runMatchesBench } from "../../bench/matches.bench.js";
import { REDIS_URL } from "../helpers.js";

// `pnpm bench` is how throughput is measured; these keep it runnable and its configurations
// honest at a small size (no figures are asserted: benchmarks measure, tests do not time).
describe("pnpm bench, at a small size", () => {
  it("runs every engine configuration on the same batches; the indexed and json-logic-js paths raise the same alerts", async () => {
    const r = await runEngineBench({ events: 4_000, redisUrl: REDIS_URL, concurrency: 4 });
    const { ceiling, vigil50, vigil200, vigil50Stateful, vigilPack, jsonLogic50, naive50 } = r.runs;
    expect(r.events).toBe(4_000);
    for (const run of [ceiling, vigil50, vigil200, vigil50Stateful, vigilPack, jsonLogic50, naive50])
      expect(run.rate).toBeGreaterThan(0);
    expect(ceiling.alerts).toBe(0);
    expect(vigil50.alerts).toBeGreaterThan(0);
    expect(jsonLogic50.alerts).toBe(vigil50.alerts);
    expect(vigil50.roundTripsPerBatch).toBe(1);
    expect(vigil50.bytesPerTrackedEvent).toBeGreaterThan(0);
  }, 120_000);

  it("tests the same patterns on RE2 and on the backtracking RegExp, with the same matches", () => {
    const r = runMatchesBench({ events: 2_000, rounds: 1 });
    expect(r.re2.matched).toBeGreaterThan(0);
    expect(r.re2.matched).toBe(r.backtracking.matched);
    expect(r.hostile.map((h) => h.chars)).toContain(65_536);
  });

  it("pulls a sparse backfill from the simulated provider and counts its requests against the fewest allowed", async () => {
    const r = await runSparseBackfillBench("logfire", { redisUrl: REDIS_URL, records: 50 });
    expect(r.records).toBe(50);
    expect(r.minimumRequests).toBe(2);
    expect(r.requests).toBeGreaterThanOrEqual(r.minimumRequests);
  }, 60_000);

  it("restarts a dense pull from its last checkpoint until it is done, delivering every record", async () => {
    const r = await runRestartingBackfillBench("zendesk", { redisUrl: REDIS_URL, seconds: 1, restartEveryMs: 1_000 });
    expect(r.delivered).toBe(r.records);
    expect(r.restarts).toBeGreaterThanOrEqual(1);
    expect(r.requests).toBeGreaterThanOrEqual(r.minimumRequests);
  }, 120_000);
});
