/**
 * A worker process that takes one job of a queue and hangs on it until it is killed: what a
 * worker that crashes mid-job looks like to BullMQ. Prints "took <job id>" when it has the job.
 * Usage: tsx hanging-worker.ts <redis url> <queue prefix> <queue name>
 */
import { Worker } from "bullmq";
import { createRedis, WORKER_RECOVERY_OPTIONS } from "@vigil/core";

const [url, prefix, name] = process.argv.slice(2) as [string, string, string];
const connection = createRedis(url);
new Worker(
  name,
  async (job) => {
    process.stdout.write(`took ${job.id}\n`);
    await new Promise(() => undefined);
  },
  { connection, prefix, concurrency: 1, ...WORKER_RECOVERY_OPTIONS },
);
