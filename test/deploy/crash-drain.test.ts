import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openQueues, type EventBatchJob } from "@vigil/core";
import { REPO_ROOT } from "../cli.js";
import { event, REDIS_URL, useRedis, waitUntil } from "../helpers.js";

const { redis, keyspace } = useRedis();
const dir = mkdtempSync(join(tmpdir(), "vigil-crash-"));

// Test-only preload: on SIGUSR2 the process suffers the crash the test asks for, from outside any handler of Vigil's.
const inject = join(dir, "inject-crash.mjs");
writeFileSync(
  inject,
  `process.on("SIGUSR2", () => {
  if (process.env.VIGIL_TEST_CRASH === "rejection") void Promise.reject(new Error("injected rejection"));
  else setImmediate(() => { throw new Error("injected exception"); });
});
`,
);

const BATCHES = 1500;
const EVENTS_PER_BATCH = 40;

describe.each(["exception", "rejection"] as const)("an uncaught %s in `vigil run engine`", (crash) => {
  it("drains in-flight jobs through the bounded shutdown and exits 1", async () => {
    const ks = keyspace();
    const queues = openQueues(redis, ks.queuePrefix);
    const jobs = Array.from({ length: BATCHES }, (_, b) => ({
      name: "batch",
      data: {
        source: "crash",
        events: Array.from({ length: EVENTS_PER_BATCH }, (_, i) =>
          event({
            id: `crash:${b}-${i}`,
            time: new Date(Date.UTC(2026, 0, 1) + b * 1000 + i).toISOString(),
            action: "noop",
          }),
        ),
      } satisfies EventBatchJob,
    }));
    for (let i = 0; i < jobs.length; i += 500) await queues.events.addBulk(jobs.slice(i, i + 500));

    const config = join(dir, `${crash}.yaml`);
    writeFileSync(
      config,
      `redis: { url: "${REDIS_URL}", prefix: "${ks.prefix}" }\nserver: { host: 127.0.0.1, port: 0 }\nengine: { concurrency: 8 }\n`,
    );
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        inject,
        join(REPO_ROOT, "apps/cli/src/main.ts"),
        "--config",
        config,
        "run",
        "engine",
      ],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, VIGIL_LOG_LEVEL: "info", VIGIL_TEST_CRASH: crash },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    try {
      // Crash while the worker is busy: some batches done, others active, most still waiting.
      await waitUntil(
        async () => ((await queues.events.getJobCounts("completed")).completed ?? 0) >= 20,
        30_000,
        "the engine to complete some batches",
      );
      expect((await queues.events.getJobCounts("active")).active ?? 0).toBeGreaterThan(0);
      child.kill("SIGUSR2");
      const started = Date.now();
      expect(await exited).toBe(1);
      expect(Date.now() - started).toBeLessThan(30_000); // the shutdown's own bound
    } finally {
      child.kill("SIGKILL");
    }
    // Nothing half-done: every batch either finished or is still waiting for the next worker.
    const raw = await queues.events.getJobCounts("active", "completed", "waiting", "failed", "delayed", "prioritized");
    const counts = { active: 0, completed: 0, waiting: 0, failed: 0, delayed: 0, prioritized: 0, ...raw };
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect(counts.completed + counts.waiting + counts.delayed + counts.prioritized).toBe(BATCHES);
    expect(counts.completed).toBeLessThan(BATCHES);
    const kind = crash === "exception" ? "uncaughtException" : "unhandledRejection";
    expect(stderr).toContain(`"msg":"${kind}: draining, then exiting with code 1"`);
    expect(stderr).toContain(`injected ${crash}`);
    expect(stderr).toContain(`"reason":"${kind}"`);
    expect(stderr).toContain('"msg":"stopped"');
    await queues.close();
  }, 90_000);
});
