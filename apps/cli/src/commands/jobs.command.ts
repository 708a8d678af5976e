import { Option, type Command } from "commander";
import { retryFailedJobs } from "@vigil/core";
import { CliError, cliContext, withQueues, type GlobalOptions } from "../context.js";
import { allQueues, listFailedJobs, QUEUE_KEYS, type FailedJob, type QueueKey } from "../failed-jobs.js";
import { formatTable, print } from "../format.js";

export function registerJobsCommands(program: Command, globals: () => GlobalOptions): void {
  const jobs = program
    .command("jobs")
    .description("failed jobs of every queue (events, alerts, deliveries, polls): list and re-drive");

  jobs
    .command("failed")
    .description("list failed jobs")
    .addOption(new Option("--queue <queue...>", "only these queues").choices(QUEUE_KEYS))
    .option("--json", "print JSON lines")
    .action(async (options: { queue?: QueueKey[]; json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace, queues }) => {
        const all = allQueues(redis, keyspace, queues);
        try {
          const failed: FailedJob[] = [];
          for (const key of options.queue ?? QUEUE_KEYS) failed.push(...(await listFailedJobs(all.byKey[key], key)));
          if (options.json) {
            for (const job of failed) print(JSON.stringify(job));
            return;
          }
          if (!failed.length) {
            print("no failed jobs");
            return;
          }
          print(
            formatTable(
              failed.map((job) => ({
                ...job,
                attempts: String(job.attempts),
                reason: job.failedReason.split("\n")[0],
              })),
              ["queue", "id", "name", "attempts", "failedAt", "reason"],
            ),
          );
        } finally {
          await all.close();
        }
      });
    });

  jobs
    .command("retry")
    .description("re-drive failed jobs (of every queue, or of --queue), each with a full set of attempts")
    .addOption(new Option("--queue <queue>", "only this queue (default: every queue)").choices(QUEUE_KEYS))
    .argument("[ids...]", "job ids (from `vigil jobs failed`)")
    .option("--all", "retry every failed job")
    .action(async (ids: string[], options: { queue?: QueueKey; all?: boolean }) => {
      if (!options.all && ids.length === 0) throw new CliError("name job ids or pass --all", 2);
      if (options.all && ids.length) throw new CliError("pass either ids or --all, not both", 2);
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace, queues }) => {
        const all = allQueues(redis, keyspace, queues);
        try {
          // An id is looked for in each queue asked (ids are unique within a queue, not across them).
          let retried = 0;
          const found = new Set<string>();
          for (const key of options.queue ? [options.queue] : QUEUE_KEYS) {
            const result = await retryFailedJobs(all.byKey[key], options.all ? "all" : ids);
            for (const id of result.retried) {
              print(`retrying ${key} job ${id}`);
              found.add(id);
            }
            retried += result.retried.length;
          }
          const missing = ids.filter((id) => !found.has(id));
          const where = options.queue ?? "any queue";
          for (const id of missing) print(`not a failed job in ${where}: ${id}`);
          print(`${retried} job(s) queued again`);
          if (missing.length) process.exitCode = 1;
        } finally {
          await all.close();
        }
      });
    });
}
