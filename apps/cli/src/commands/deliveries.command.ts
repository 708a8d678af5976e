import type { Command } from "commander";
import { retryFailedJobs } from "@vigil/core";
import { listFailedDeliveries } from "@vigil/notifier";
import { CliError, cliContext, withQueues, type GlobalOptions } from "../context.js";
import { formatTable, print } from "../format.js";

export function registerDeliveriesCommands(program: Command, globals: () => GlobalOptions): void {
  const deliveries = program.command("deliveries").description("alert deliveries whose attempts are spent");

  deliveries
    .command("failed")
    .description("list failed deliveries")
    .option("--json", "print JSON lines")
    .action(async (options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ queues }) => {
        const failed = await listFailedDeliveries(queues.deliveries);
        if (options.json) {
          for (const item of failed) print(JSON.stringify(item));
          return;
        }
        if (!failed.length) {
          print("no failed deliveries");
          return;
        }
        print(
          formatTable(
            failed.map((f) => ({
              id: f.id,
              channel: f.channel,
              rule: f.ruleId,
              attempts: String(f.attempts),
              "failed at": f.failedAt ?? "-",
              reason: f.failedReason,
            })),
            ["id", "channel", "rule", "attempts", "failed at", "reason"],
          ),
        );
      });
    });

  deliveries
    .command("retry")
    .description("send failed deliveries again, with a full set of attempts")
    .argument("[ids...]", "delivery ids (from `vigil deliveries failed`)")
    .option("--all", "retry every failed delivery")
    .action(async (ids: string[], options: { all?: boolean }) => {
      if (!options.all && ids.length === 0) throw new CliError("name delivery ids or pass --all", 2);
      if (options.all && ids.length) throw new CliError("pass either ids or --all, not both", 2);
      const { config } = cliContext(globals());
      await withQueues(config, async ({ queues }) => {
        const result = await retryFailedJobs(queues.deliveries, options.all ? "all" : ids);
        for (const id of result.retried) print(`retrying ${id}`);
        for (const id of result.missing) print(`not a failed delivery: ${id}`);
        print(`${result.retried.length} delivery(ies) queued again`);
        if (result.missing.length) process.exitCode = 1;
      });
    });
}
