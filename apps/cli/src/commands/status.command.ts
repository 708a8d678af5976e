import type { Command } from "commander";
import { getSourcesStatus } from "@vigil/connectors";
import { listFailedDeliveries } from "@vigil/notifier";
import { cliContext, withQueues, type GlobalOptions } from "../context.js";
import { formatTable } from "../format.js";

export function registerStatusCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("status")
    .description("queue depths, failed jobs, failed deliveries and per-source checkpoints")
    .option("--json", "print one JSON document")
    .action(async (options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace, queues }) => {
        const queueCounts = [];
        for (const queue of [queues.events, queues.alerts, queues.deliveries]) {
          queueCounts.push({ queue: queue.name, ...(await queue.getJobCounts("waiting", "active", "delayed", "failed", "completed")) });
        }
        const failedDeliveries = await listFailedDeliveries(queues.deliveries);
        const sources = await getSourcesStatus(redis, keyspace, config);
        if (options.json) {
          console.log(JSON.stringify({ queues: queueCounts, failedDeliveries: failedDeliveries.length, sources }, null, 2));
          return;
        }
        console.log(formatTable(queueCounts, ["queue", "waiting", "active", "delayed", "failed", "completed"]));
        console.log(`\nfailed deliveries: ${failedDeliveries.length}${failedDeliveries.length ? " (see `vigil deliveries failed`)" : ""}\n`);
        if (sources.length === 0) {
          console.log("no sources configured");
        } else {
          console.log(
            formatTable(
              sources.map((s) => ({
                source: s.name,
                type: s.type,
                checkpoint: s.checkpoint ? JSON.stringify(s.checkpoint) : "-",
                "last success": s.health.lastSuccessAt ?? "-",
                "events pulled": String(s.health.eventsPulled ?? 0),
                "last error": s.health.lastError ?? "-",
              })),
              ["source", "type", "checkpoint", "last success", "events pulled", "last error"],
            ),
          );
        }
      });
    });
}
