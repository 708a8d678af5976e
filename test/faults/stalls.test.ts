import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { WORKER_RECOVERY_OPTIONS } from "@vigil/core";
import { REPO_ROOT } from "../cli.js";
import { REDIS_URL, useRedis, waitUntil } from "../helpers.js";

const { redis, keyspace } = useRedis();

const opened: { close(): Promise<unknown> }[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const item of opened.reverse()) await item.close();
});

/** Starts a worker process that takes one job and hangs; resolves once it holds the job, with a SIGKILL. */
async function hangOnJob(prefix: string, queueName: string): Promise<{ jobId: string; kill(): Promise<void> }> {
  // `node --import tsx`, not the tsx launcher: one process, so SIGKILL kills the worker itself.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "test/faults/hanging-worker.ts"), REDIS_URL, prefix, queueName],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  await waitUntil(() => output.includes("took "), 90_000, "the hanging worker to take the job");
  return {
    jobId: /took (\S+)/.exec(output)![1]!,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describe("a worker killed while it holds a job", () => {
  it("stalls do not spend attempts: a job whose worker dies twice is still done, and picked up within seconds", async () => {
    const ks = keyspace();
    const queue = new Queue("vigil-events", { connection: redis, prefix: ks.queuePrefix });
    opened.push(queue);
    await queue.add(
      "batch",
      { n: 1 },
      { jobId: "batch-1", attempts: 3, backoff: { type: "fixed", delay: 100 }, removeOnFail: false },
    );

    for (let crash = 1; crash <= 2; crash++) {
      const hung = await hangOnJob(ks.queuePrefix, "vigil-events");
      expect(hung.jobId).toBe("batch-1");
      await hung.kill();
    }

    const killedAt = Date.now();
    let pickedUpAfterMs = -1;
    const worker = new Worker(
      "vigil-events",
      async () => {
        pickedUpAfterMs = Date.now() - killedAt;
        return "done";
      },
      { connection: redis, prefix: ks.queuePrefix, ...WORKER_RECOVERY_OPTIONS },
    );
    opened.push(worker);
    await waitUntil(async () => (await queue.getJobState("batch-1")) === "completed", 60_000, "the job to complete");
    const job = (await queue.getJob("batch-1"))!;
    expect(job.returnvalue).toBe("done");
    expect(job.attemptsMade).toBe(1); // the two crashes did not count as attempts
    // Lock expiry plus one stall check: seconds, not BullMQ's default 30–60 s.
    expect(pickedUpAfterMs).toBeLessThan(
      WORKER_RECOVERY_OPTIONS.lockDuration + 2 * WORKER_RECOVERY_OPTIONS.stalledInterval + 2_000,
    );
  }, 240_000);
});
