import type { Command } from "commander";
import { getSourcesStatus, sourceIdentities } from "@vigil/connectors";
import { type Keyspace, MAX_ALERT_EVENT_IDS, redisTopology, type RedisTopology } from "@vigil/core";
import { Engine, loadRuleSet, RedisRuleStateStore, recordedStateShards, type SourceWatermark } from "@vigil/engine";
import type { RedisClient } from "@vigil/core";
import type { VigilConfig } from "../vigil-config.js";
import { listFailedDeliveries } from "@vigil/notifier";
import { cliContext, withQueues, type GlobalOptions } from "../context.js";
import { allQueues, QUEUE_KEYS } from "../failed-jobs.js";
import { formatTable, print } from "../format.js";

export function registerStatusCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("status")
    .description("queue depths, failed jobs, failed deliveries, per-source checkpoints and each source's pull progress")
    .option("--json", "print one JSON document")
    .action(async (options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace, queues }) => {
        const all = allQueues(redis, keyspace, queues);
        const queueCounts: ({ queue: string } & Record<string, number | string>)[] = [];
        try {
          for (const key of QUEUE_KEYS) {
            const queue = all.byKey[key];
            queueCounts.push({
              queue: queue.name,
              ...(await queue.getJobCounts("waiting", "active", "delayed", "failed", "completed")),
            });
          }
        } finally {
          await all.close();
        }
        const failedJobs = queueCounts.reduce((sum, counts) => sum + Number(counts.failed ?? 0), 0);
        const failedDeliveries = await listFailedDeliveries(queues.deliveries);
        const sources = await getSourcesStatus(redis, keyspace, config);
        const watermarks = await sourceWatermarks(config, redis, keyspace);
        const topology = await redisTopology(
          redis,
          config.redis,
          keyspace,
          await recordedStateShards(redis, keyspace, config.engine.stateShards),
        );
        if (options.json) {
          print(
            JSON.stringify(
              {
                redis: topology,
                queues: queueCounts,
                failedJobs,
                failedDeliveries: failedDeliveries.length,
                sources,
                watermarks,
              },
              null,
              2,
            ),
          );
          return;
        }
        print(formatTopology(topology, keyspace));
        print(formatTable(queueCounts, ["queue", "waiting", "active", "delayed", "failed", "completed"]));
        print(
          `\nfailed jobs: ${failedJobs}${failedJobs ? " (see `vigil jobs failed`; re-drive with `vigil jobs retry --queue <queue> --all`)" : ""}`,
        );
        print(
          `failed deliveries: ${failedDeliveries.length}${failedDeliveries.length ? " (see `vigil deliveries failed`)" : ""}`,
        );
        const quarantined = sources.reduce((sum, s) => sum + s.quarantined, 0);
        print(`quarantined records: ${quarantined}${quarantined ? " (see `vigil sources quarantine list`)" : ""}\n`);
        if (sources.length === 0) {
          print("no sources configured");
        } else {
          print(
            formatTable(
              sources.map((s) => ({
                source: s.name,
                type: s.type,
                checkpoint: s.checkpoint ? JSON.stringify(s.checkpoint) : "-",
                "last success": s.health.lastSuccessAt ?? "-",
                "events pulled": String(s.health.eventsPulled ?? 0),
                quarantined: String(s.quarantined),
                "last error": s.health.lastError ?? "-",
              })),
              ["source", "type", "checkpoint", "last success", "events pulled", "quarantined", "last error"],
            ),
          );
        }
        const pulls = sources.filter((s) => s.progress);
        if (pulls.length)
          print(
            `\n${formatTable(
              pulls.map(({ name, progress: p }) => ({
                source: name,
                pull: `${p!.state} since ${p!.startedAt}`,
                window: p!.window ? `${p!.window.start} .. ${p!.window.end}` : "-",
                "records read": String(p!.recordsRead),
                queued: String(p!.eventsQueued),
                "left (est.)": p!.estimatedRemaining === undefined ? "-" : String(p!.estimatedRemaining),
                updated: p!.updatedAt,
              })),
              ["source", "pull", "window", "records read", "queued", "left (est.)", "updated"],
            )}`,
          );
        if ("problem" in watermarks) console.log(`\nwatermarks: ${watermarks.problem}`);
        else if (watermarks.length) {
          const iso = (ms: number | undefined) => (ms === undefined ? "-" : new Date(ms).toISOString());
          console.log(
            `\n${formatTable(
              watermarks.map((w) => ({
                source: w.source,
                delivered: iso(w.delivered),
                bound: iso(w.bound),
                "moved at": w.advancedAt === undefined ? "never heard of" : iso(w.advancedAt),
                "holds back": w.holdsBack.join(", ") || "-",
              })),
              ["source", "delivered", "bound", "moved at", "holds back"],
            )}`,
          );
        }
      });
    });
}

/** Each configured source's watermark and the rules it holds back (the rules as the engine loads them). */
async function sourceWatermarks(
  config: VigilConfig,
  redis: RedisClient,
  keyspace: Keyspace,
): Promise<SourceWatermark[] | { problem: string }> {
  let rules: ReturnType<typeof loadRuleSet>["rules"];
  try {
    rules = loadRuleSet(config.rules.paths).rules;
  } catch (err) {
    return {
      problem: `the rules do not load (${(err as Error).message.split("\n")[0]}); \`vigil rules validate\` says why`,
    };
  }
  const store = new RedisRuleStateStore(redis, keyspace, {
    seenTtlMs: 0,
    maxEventIds: MAX_ALERT_EVENT_IDS,
    shards: await recordedStateShards(redis, keyspace, config.engine.stateShards),
  });
  return new Engine(rules, store, { sources: sourceIdentities(config.sources) }).watermarks();
}

/** The Redis topology: the mode, where Vigil's hash tag lives, and every node. */
function formatTopology(topology: RedisTopology, keyspace: Keyspace): string {
  const where =
    topology.mode === "cluster"
      ? `, every key and queue under ${keyspace.tag} in slot ${topology.slot}`
      : topology.mode === "sentinel"
        ? `, master "${topology.masterName}"`
        : "";
  const rows = topology.nodes.map((node) => ({
    node: node.address,
    role: node.replicaOf ? `${node.role} of ${node.replicaOf}` : node.role,
    ...(topology.mode === "cluster"
      ? {
          slots: node.slots ?? "-",
          vigil: node.holdsVigil ? "yes" : "-",
          "state shards": node.stateShards?.length ? node.stateShards.join(",") : "-",
        }
      : {}),
  }));
  const columns = topology.mode === "cluster" ? ["node", "role", "slots", "vigil", "state shards"] : ["node", "role"];
  return `redis: ${topology.mode}${where}\n${formatTable(rows, columns)}\n`;
}
