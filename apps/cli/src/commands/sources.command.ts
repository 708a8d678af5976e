import type { Command } from "commander";
import type { SourceConfig } from "@vigil/connectors";
import { formatDuration, Keyspace, parseDuration } from "@vigil/core";
import type { VigilConfig as Config } from "../vigil-config.js";
import { createConnector, createConnectorDeps, getSourcesStatus } from "@vigil/connectors";
import { CliError, cliContext, requireRedis, withQueues, type GlobalOptions } from "../context.js";
import { formatTable } from "../format.js";

/** An ISO instant, or a duration meaning "that long before now"; `option` names the flag in the error. */
function parseSince(text: string, now: Date, option = "--since"): Date {
  const duration = parseDuration(text);
  if (duration !== undefined) return new Date(now.getTime() - duration);
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(text))
    throw new CliError(
      `${option} "${text}" is neither an ISO time (2026-03-01T00:00:00Z) nor a duration before now (2h, 7d)`,
      2,
    );
  return new Date(ms);
}

function findSource(config: Config, name: string): SourceConfig {
  const source = config.sources.find((s) => s.name === name);
  if (!source) {
    const known = config.sources.map((s) => s.name);
    throw new CliError(
      `no source named "${name}" in the config${known.length ? ` (configured: ${known.join(", ")})` : " (it has no sources)"}`,
      2,
    );
  }
  return source;
}

/** Time from `iso` to `now` in whole seconds (at least 1s), or "-" when unknown. */
const elapsed = (iso: string | undefined, now: number) =>
  iso ? formatDuration(Math.max(1000, Math.round((now - Date.parse(iso)) / 1000) * 1000)) : "-";

export function registerSourcesCommands(program: Command, globals: () => GlobalOptions): void {
  const sources = program.command("sources").description("configured sources: health, credentials, ad-hoc pulls");

  sources
    .command("list")
    .description("configured sources and their health")
    .option("--json", "print one JSON document")
    .action(async (options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        const statuses = await getSourcesStatus(redis, keyspace, config);
        if (options.json) {
          console.log(JSON.stringify(statuses, null, 2));
          return;
        }
        if (!statuses.length) {
          console.log("no sources configured");
          return;
        }
        const now = Date.now();
        console.log(
          formatTable(
            statuses.map((s) => ({
              source: s.name,
              type: s.type,
              enabled: s.enabled ? "yes" : "no",
              every: formatDuration(s.pollIntervalMs),
              "last success": s.health.lastSuccessAt ? `${elapsed(s.health.lastSuccessAt, now)} ago` : "-",
              lag: elapsed(s.health.newestEventTime, now),
              "events pulled": s.health.eventsPulled,
              "last error":
                s.health.lastError && (!s.health.lastSuccessAt || (s.health.lastErrorAt ?? "") > s.health.lastSuccessAt)
                  ? s.health.lastError
                  : "-",
            })),
            ["source", "type", "enabled", "every", "last success", "lag", "events pulled", "last error"],
          ),
        );
      });
    });

  sources
    .command("check")
    .description("one request proving a source's credentials and reachability")
    .argument("<name>", "source name")
    .action(async (name: string) => {
      const { config, logger } = cliContext(globals());
      const source = findSource(config, name);
      const redis = await requireRedis(config);
      try {
        const connector = createConnector(
          source,
          createConnectorDeps({ redis, keyspace: new Keyspace(config.redis.prefix), logger }),
        );
        await connector.check({ signal: AbortSignal.timeout(60_000) });
        console.log(`ok: ${name} (${source.type}) answers and accepts its credentials`);
      } catch (err) {
        throw new CliError((err as Error).message, 1);
      } finally {
        await redis.quit();
      }
    });

  sources
    .command("pull")
    .description("fetch a span from a source and print each normalized event as a JSON line (no checkpoint, no queue)")
    .argument("<name>", "source name")
    .requiredOption("--since <time>", "ISO time or duration before now (e.g. 2h, 7d)")
    .option("--until <time>", "ISO time (default: now)")
    .action(async (name: string, options: { since: string; until?: string }) => {
      const { config, logger } = cliContext(globals());
      const source = findSource(config, name);
      const now = new Date();
      const since = parseSince(options.since, now);
      const until = options.until ? parseSince(options.until, now, "--until") : now;
      if (since >= until)
        throw new CliError(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`, 2);
      const redis = await requireRedis(config);
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      let events = 0;
      let pages = 0;
      try {
        const connector = createConnector(
          source,
          createConnectorDeps({ redis, keyspace: new Keyspace(config.redis.prefix), logger }),
        );
        for await (const page of connector.pull(undefined, { signal: controller.signal, now: until, since })) {
          pages++;
          for (const event of page.events) {
            const t = Date.parse(event.time);
            if (t < since.getTime() || t >= until.getTime()) continue;
            events++;
            process.stdout.write(`${JSON.stringify(event)}\n`);
          }
          process.stderr.write(
            `\r${name}: ${events} events, ${pages} pages${page.checkpoint.until ? `, up to ${String(page.checkpoint.until)}` : ""}   `,
          );
        }
        process.stderr.write(`\n${name}: ${events} events from ${since.toISOString()} to ${until.toISOString()}\n`);
      } catch (err) {
        process.stderr.write("\n");
        throw new CliError((err as Error).message, 1);
      } finally {
        process.off("SIGINT", stop);
        await redis.quit();
      }
    });
}
