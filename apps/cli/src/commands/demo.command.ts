import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { ConfigSchema, createLogger, createMetrics, createRedis, deleteKeyspace, type Alert } from "@vigil/core";
import { startSmtpSink, startWebhookSink } from "@vigil/simulator";
import { cliContext, type GlobalOptions } from "../context.js";
import { ensureRedis } from "../runtime/local-redis.js";
import { startVigil } from "../runtime/roles.js";
import { formatTable } from "../format.js";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const SAMPLE_EVENTS = fileURLToPath(new URL("../../demo/sample-events.jsonl", import.meta.url));

export function registerDemoCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("demo")
    .description("the whole pipeline in one process on a sample of audit events, delivering to a local SMTP server and webhook receiver")
    .option("--events <file>", "JSON-lines events to feed the file connector", SAMPLE_EVENTS)
    .option("--rules <paths...>", "rule files or folders", [`${REPO_ROOT}rules`])
    .action(async (options: { events: string; rules: string[] }) => {
      const { config: baseConfig } = cliContext(globals());
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const started = Date.now();
      const redisServer = await ensureRedis(baseConfig.redis.url, say);
      const smtp = await startSmtpSink({ port: 0 });
      const secret = `whsec_${randomBytes(24).toString("base64")}`;
      const webhook = await startWebhookSink({ port: 0, secret });
      const config = ConfigSchema.parse({
        redis: { url: redisServer.url, prefix: `vigil-demo-${randomBytes(4).toString("hex")}` },
        sources: [{ name: "sample", type: "file", path: options.events, batchSize: 200 }],
        rules: { paths: options.rules },
        channels: [
          { name: "soc-email", type: "email", from: "vigil@localhost", to: ["soc@localhost"], smtp: { host: "127.0.0.1", port: smtp.port } },
          { name: "soc-webhook", type: "webhook", url: webhook.url, secret },
        ],
        routes: [{ match: {}, channels: ["soc-email", "soc-webhook"] }],
        notifier: { backoff: "250ms", attempts: 5 },
      });
      const logger = createLogger({ level: "warn" });
      const vigil = await startVigil({ config, roles: ["connectors", "engine", "notifier"], logger, metrics: createMetrics(), schedulePolls: false });
      say(`vigil demo: ${vigil.rules.length} rules, events from ${options.events}`);
      say(`  SMTP server on 127.0.0.1:${smtp.port}, webhook receiver at ${webhook.url}\n`);

      const deliveredAlerts = new Map<string, Alert>();
      smtp.onMessage((mail) => say(`  email    → ${mail.to.join(", ")}  ${mail.subject}`));
      webhook.onRequest((request) => {
        const alert = request.json as Alert;
        deliveredAlerts.set(alert.id, alert);
        say(`  webhook  → ${webhook.url}  [${alert.severity.toUpperCase()}] ${alert.title} (${request.verified ? "signature verified" : `signature INVALID: ${request.verifyError}`})`);
      });

      let cleanedUp = false;
      const cleanup = async () => {
        if (cleanedUp) return;
        cleanedUp = true;
        await vigil.shutdown.shutdown("demo finished").catch(() => undefined);
        await smtp.close();
        await webhook.close();
        const redis = createRedis(config.redis.url);
        await deleteKeyspace(redis, vigil.keyspace);
        await redis.quit();
        await redisServer.stop();
      };
      process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));

      try {
        const pulled = await vigil.pollWorker!.pullOnce("sample");
        if (pulled.error) throw new Error(`reading ${options.events}: ${pulled.error}`);
        await waitForIdle(vigil.queues);
        const alertsRaised = await vigil.queues.alerts.getJobCounts("completed", "failed");
        const failedDeliveries = await vigil.queues.deliveries.getJobCounts("failed");
        say("");
        say(`summary: ${pulled.events} events → ${alertsRaised.completed ?? 0} alerts → ${smtp.messages.length} emails, ${webhook.requests.length} webhooks (${webhook.requests.filter((r) => r.verified).length} verified), ${failedDeliveries.failed ?? 0} failed deliveries, in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        const byRule = new Map<string, { rule: string; severity: string; alerts: number }>();
        for (const alert of deliveredAlerts.values()) {
          const row = byRule.get(alert.ruleId) ?? { rule: alert.ruleId, severity: alert.severity, alerts: 0 };
          row.alerts++;
          byRule.set(alert.ruleId, row);
        }
        say(`\n${formatTable([...byRule.values()].sort((a, b) => a.rule.localeCompare(b.rule)), ["rule", "severity", "alerts"])}`);
      } finally {
        await cleanup();
      }
    });
}

/** Resolves once no queue has work waiting, running or scheduled for retry. */
async function waitForIdle(queues: { events: QueueLike; alerts: QueueLike; deliveries: QueueLike }, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let idleChecks = 0;
  while (idleChecks < 3) {
    if (Date.now() > deadline) throw new Error("the pipeline did not settle in time");
    let busy = 0;
    for (const queue of [queues.events, queues.alerts, queues.deliveries]) {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      busy += Object.values(counts).reduce((sum, n) => sum + n, 0);
    }
    idleChecks = busy === 0 ? idleChecks + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface QueueLike {
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}
