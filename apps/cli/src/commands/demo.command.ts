import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { PROVIDER_MANIFESTS } from "@vigil/connectors";
import { createLogger, createMetrics, createRedis, deleteKeyspace, type Alert } from "@vigil/core";
import type { ProviderName, ProviderSimulator } from "@vigil/simulator";
import { cliContext, type GlobalOptions } from "../context.js";
import { formatTable, print } from "../format.js";
import { splitEventFile } from "../demo/event-file-sources.js";
import { ensureRedis } from "../runtime/local-redis.js";
import { startVigil, type VigilProcess } from "../runtime/roles.js";
import { VigilConfigSchema as ConfigSchema, type VigilConfigInput as ConfigInput } from "../vigil-config.js";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const DEMO_TUNING = fileURLToPath(new URL("../demo/acme-tuning.yaml", import.meta.url));

interface DemoOptions {
  events?: string;
  rules: string[];
  follow?: boolean;
  renderDir?: string;
}

/** Every registered provider; `test/connectors/registries.test.ts` makes sure the simulator fakes each. */
export const DEMO_PROVIDERS = PROVIDER_MANIFESTS.map((manifest) => manifest.type) as ProviderName[];

/** The simulated providers as configured sources, each with the credentials the simulator accepts (from its manifest). */
function providerSources(sim: ProviderSimulator, pollInterval: string): NonNullable<ConfigInput["sources"]> {
  return PROVIDER_MANIFESTS.map((manifest) => {
    const provider = manifest.type as ProviderName;
    const credentials = sim.credentials(provider) as unknown as Record<string, string>;
    return {
      type: provider,
      name: `${provider}-demo`,
      baseUrl: sim.baseUrl(provider),
      allowInsecureHttp: true,
      auth: manifest.provider.simulatorAuth(credentials),
      startFrom: "10d",
      lookback: "5m",
      pollInterval,
    };
  }) as NonNullable<ConfigInput["sources"]>;
}

export function registerDemoCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("demo")
    .description(
      "the whole pipeline in one process: simulated providers telling an attack, every role, alerts by email and webhook",
    )
    .option(
      "--events <file>",
      "feed a JSON-lines file of events through file sources (one per source its lines name) instead of the providers",
    )
    .option("--rules <paths...>", "rule files or folders", [`${REPO_ROOT}rules`])
    .option("--follow", "keep polling (new records keep arriving) until Ctrl-C")
    .option("--render-dir <dir>", "write each alert's message as every channel delivered it into this folder")
    .action(async (options: DemoOptions) => {
      const { config: baseConfig } = cliContext(globals());
      // Demo-only code (provider fakes, SMTP server, webhook receiver) loads here, never for `run`.
      const { startProviderSimulator, startSmtpSink, startWebhookSink } = await import("@vigil/simulator");
      const { attackStory, STORY_STEPS, storyStepOf } = await import("../demo/attack-story.js");
      const say = print;
      const { startDemoReceivers } = await import("../demo/demo-receivers.js");
      const started = Date.now();
      const redisServer = await ensureRedis(baseConfig.redis.url, say);
      const smtp = await startSmtpSink({ port: 0 });
      const secret = `whsec_${randomBytes(24).toString("base64")}`;
      const webhook = await startWebhookSink({ port: 0, secret });
      const receivers = await startDemoReceivers(say);
      const sim = options.events
        ? undefined
        : await startProviderSimulator({
            seed: 7,
            records: Object.fromEntries(DEMO_PROVIDERS.map((p) => [p, 150])),
            start: new Date(Date.now() - 3 * 86_400_000),
            end: new Date(Date.now() - 10 * 60_000),
            storyRecords: attackStory(new Date()),
          });
      const split = options.events ? await splitEventFile(options.events) : undefined;
      const config = ConfigSchema.parse({
        redis: { url: redisServer.url, prefix: `vigil-demo-${randomBytes(4).toString("hex")}` },
        sources: sim ? providerSources(sim, "5s") : split!.sources.map((source) => ({ ...source, pollInterval: "2s" })),
        // The simulated organization's tuning (its admins' routine work) applies to its simulated providers.
        rules: { paths: sim ? [...options.rules, DEMO_TUNING] : options.rules },
        channels: [
          {
            name: "soc-email",
            type: "email",
            from: "vigil@localhost",
            to: ["soc@localhost"],
            smtp: { host: "127.0.0.1", port: smtp.port, allowPlaintext: true },
          },
          { name: "soc-webhook", type: "webhook", url: webhook.url, allowInsecureHttp: true, secret },
          ...(receivers.channels as NonNullable<ConfigInput["channels"]>),
        ],
        routes: [
          { match: {}, channels: ["soc-email", "soc-webhook", ...receivers.channels.map((c) => String(c.name))] },
        ],
        notifier: { backoff: "250ms", attempts: 5 },
      } satisfies ConfigInput);
      const logger = createLogger({ level: "warn" });
      const vigil = await startVigil({
        config,
        roles: ["connectors", "engine", "notifier"],
        logger,
        metrics: createMetrics(),
        schedulePolls: Boolean(options.follow),
      });
      say(
        `vigil demo: ${vigil.rules.length} rules, ${sim ? `${config.sources.length} simulated providers at ${sim.origin}` : `events from ${options.events} (${config.sources.length} file sources: ${config.sources.map((s) => s.name).join(", ")})`}`,
      );
      say(
        `  SMTP server on 127.0.0.1:${smtp.port}, webhook receiver at ${webhook.url}; simulated Slack, Teams, PagerDuty and Alertmanager receivers\n`,
      );

      const deliveredAlerts = new Map<string, Alert>();
      smtp.onMessage((mail) => say(`  email    → ${mail.to.join(", ")}  ${mail.subject}`));
      webhook.onRequest((request) => {
        const alert = request.json as Alert;
        deliveredAlerts.set(alert.id, alert);
        const step = sim ? (storyStepOf(alert) ?? "not part of the story: ordinary activity") : undefined;
        say(
          `  webhook  → ${webhook.url}  [${alert.severity.toUpperCase()}] ${alert.title} (${request.verified ? "signature verified" : `signature INVALID: ${request.verifyError}`})${step ? `\n             story: ${step}` : ""}`,
        );
      });

      let cleanedUp = false;
      const cleanup = async () => {
        if (cleanedUp) return;
        cleanedUp = true;
        await vigil.shutdown.shutdown("demo finished").catch(() => undefined);
        await Promise.all([smtp.close(), webhook.close(), receivers.close(), sim?.close()]);
        const redis = createRedis(config.redis);
        await deleteKeyspace(redis, vigil.keyspace);
        await redis.quit();
        await redisServer.stop();
        if (split) await rm(split.dir, { recursive: true, force: true });
      };
      process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));

      try {
        const pulls = await Promise.all(config.sources.map((s) => vigil.pollWorker!.pullOnce(s.name)));
        for (const pull of pulls) {
          if (pull.error) throw new Error(`pulling ${pull.source}: ${pull.error}`);
        }
        await waitForIdle(vigil);
        const events = pulls.reduce((sum, p) => sum + p.events, 0);
        printSummary(say, {
          vigil,
          events,
          deliveredAlerts,
          emails: smtp.messages.length,
          webhooks: webhook.requests,
          started,
        });
        say(`\nchannels (each message checked against the provider's documented fields and limits):`);
        for (const line of receivers.report()) say(line);
        if (options.renderDir)
          await receivers.render(options.renderDir, deliveredAlerts, smtp.messages, webhook.requests);
        if (sim) {
          const delivered = [...deliveredAlerts.values()];
          const missing = STORY_STEPS.flatMap((s) => s.rules).filter(
            (rule) => !delivered.some((a) => a.ruleId === rule && storyStepOf(a) !== undefined),
          );
          const ordinary = delivered.filter((a) => storyStepOf(a) === undefined);
          say(
            ordinary.length
              ? `\n${ordinary.length} alert(s) came from the ordinary activity, not the story: ${[...new Set(ordinary.map((a) => a.ruleId))].join(", ")}`
              : "\nthe ordinary activity raised no alert",
          );
          say(
            missing.length
              ? `\nthe story should also have raised: ${missing.join(", ")}`
              : `\nevery step of the attack story raised its alert`,
          );
        }
        if (options.follow) {
          say("\nfollowing: polling every 5s, new records arrive every few seconds; Ctrl-C stops");
          const appender = sim
            ? setInterval(() => {
                for (const p of DEMO_PROVIDERS) sim.append(p, 1);
              }, 3_000)
            : undefined;
          await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
          if (appender) clearInterval(appender);
        }
      } finally {
        await cleanup();
      }
    });
}

function printSummary(
  say: (line: string) => void,
  facts: {
    vigil: VigilProcess;
    events: number;
    deliveredAlerts: Map<string, Alert>;
    emails: number;
    webhooks: { verified: boolean }[];
    started: number;
  },
): void {
  const byRule = new Map<string, { rule: string; severity: string; alerts: number }>();
  for (const alert of facts.deliveredAlerts.values()) {
    const row = byRule.get(alert.ruleId) ?? { rule: alert.ruleId, severity: alert.severity, alerts: 0 };
    row.alerts++;
    byRule.set(alert.ruleId, row);
  }
  say("");
  say(
    `summary: ${facts.events} events → ${facts.deliveredAlerts.size} alerts → ${facts.emails} emails, ${facts.webhooks.length} webhooks (${facts.webhooks.filter((r) => r.verified).length} verified), in ${((Date.now() - facts.started) / 1000).toFixed(1)}s`,
  );
  say(
    `\n${formatTable(
      [...byRule.values()].sort((a, b) => a.rule.localeCompare(b.rule)),
      ["rule", "severity", "alerts"],
    )}`,
  );
}

/** Resolves once no queue has work waiting, running or scheduled for retry. */
async function waitForIdle(vigil: VigilProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let idleChecks = 0;
  while (idleChecks < 3) {
    if (Date.now() > deadline) throw new Error("the pipeline did not settle in time");
    let busy = 0;
    for (const queue of [vigil.queues.events, vigil.queues.alerts, vigil.queues.deliveries]) {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      busy += Object.values(counts).reduce((sum, n) => sum + n, 0);
    }
    idleChecks = busy === 0 ? idleChecks + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
