import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { QUEUE_NAMES } from "@vigil/core";
import { runCli } from "../cli.js";
import { REDIS_URL, useRedis, waitUntil } from "../helpers.js";

const { redis, keyspace } = useRedis();
const ks = keyspace();
const dir = mkdtempSync(join(tmpdir(), "vigil-jobs-"));
const config = join(dir, "vigil.config.yaml");
writeFileSync(config, `redis: { url: "${REDIS_URL}", prefix: "${ks.prefix}" }\n`);
const queues = Object.values(QUEUE_NAMES).map((name) => new Queue(name, { connection: redis, prefix: ks.queuePrefix }));
afterAll(async () => {
  for (const queue of queues) await queue.close();
});

describe("vigil jobs", () => {
  it("lists the failed jobs of every queue, shows them in status, and re-drives one queue's", async () => {
    for (const queue of queues) {
      await queue.add(
        "poison",
        { queue: queue.name },
        { jobId: `poison-${queue.name}`, attempts: 1, removeOnFail: false },
      );
      const worker = new Worker(queue.name, async () => Promise.reject(new Error(`cannot process ${queue.name}`)), {
        connection: redis,
        prefix: ks.queuePrefix,
      });
      await waitUntil(
        async () => (await queue.getJobState(`poison-${queue.name}`)) === "failed",
        10_000,
        `${queue.name} job to fail`,
      );
      await worker.close();
    }

    const listed = await runCli(["--config", config, "jobs", "failed", "--json"]);
    expect(listed.code).toBe(0);
    const failed = listed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { queue: string; id: string; failedReason: string; attempts: number });
    expect(failed.map((job) => [job.queue, job.id, job.failedReason, job.attempts])).toEqual([
      ["events", "poison-vigil-events", "cannot process vigil-events", 1],
      ["alerts", "poison-vigil-alerts", "cannot process vigil-alerts", 1],
      ["deliveries", "poison-vigil-deliveries", "cannot process vigil-deliveries", 1],
      ["groups", "poison-vigil-groups", "cannot process vigil-groups", 1],
      ["polls", "poison-vigil-polls", "cannot process vigil-polls", 1],
    ]);

    const status = await runCli(["--config", config, "status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ failedJobs: 5 });
    const statusText = await runCli(["--config", config, "status"]);
    expect(statusText.stdout).toContain("failed jobs: 5 (see `vigil jobs failed`");
    expect(statusText.stdout).toMatch(/vigil-polls\s+0\s+0\s+0\s+1/);

    const retried = await runCli(["--config", config, "jobs", "retry", "--queue", "events", "--all"]);
    expect(retried.stdout).toContain("retrying events job poison-vigil-events");
    expect(await queues[0]!.getJobState("poison-vigil-events")).toBe("waiting");
    expect((await queues[0]!.getJob("poison-vigil-events"))!.attemptsMade).toBe(0);

    const missing = await runCli(["--config", config, "jobs", "retry", "--queue", "alerts", "no-such-job"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain("not a failed job in alerts: no-such-job");
    const usage = await runCli(["--config", config, "jobs", "retry", "--queue", "events"]);
    expect(usage.code).toBe(2);

    // The table's headers read like every other table of the CLI.
    const table = await runCli(["--config", config, "jobs", "failed"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^queue\s+id\s+name\s+attempts\s+failed at\s+reason$/);

    // Without --queue, --all re-drives every queue's failed jobs; an id is found in whichever queue holds it.
    const byId = await runCli(["--config", config, "jobs", "retry", "poison-vigil-alerts"]);
    expect(byId.stdout).toContain("retrying alerts job poison-vigil-alerts");
    expect(byId.code).toBe(0);
    const everything = await runCli(["--config", config, "jobs", "retry", "--all"]);
    expect(everything.code).toBe(0);
    expect(everything.stdout).toContain("retrying deliveries job poison-vigil-deliveries");
    expect(everything.stdout).toContain("retrying polls job poison-vigil-polls");
    for (const queue of queues.slice(2)) expect(await queue.getJobState(`poison-${queue.name}`)).toBe("waiting");
  }, 300_000);
});
