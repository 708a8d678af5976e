import type { Command } from "commander";
import type { SourceConfig } from "@vigil/connectors";
import { formatDuration, Keyspace, MAX_ALERT_EVENT_IDS, parseDuration } from "@vigil/core";
import { RedisRuleStateStore, recordedStateShards } from "@vigil/engine";
import type { VigilConfig as Config } from "../vigil-config.js";
import {
  createConnector,
  createConnectorDeps,
  getSourcesStatus,
  QuarantineStore,
  resetSourceCheckpoint,
  retryQuarantined,
  type QuarantineEntry,
} from "@vigil/connectors";
import { CliError, cliContext, requireRedis, withQueues, type GlobalOptions } from "../context.js";
import { formatElapsed, formatTable, inlineText, print } from "../format.js";

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
const elapsed = (iso: string | undefined, now: number) => (iso ? formatElapsed(now - Date.parse(iso)) : "-");

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
          print(JSON.stringify(statuses, null, 2));
          return;
        }
        if (!statuses.length) {
          print("no sources configured");
          return;
        }
        const now = Date.now();
        print(
          formatTable(
            statuses.map((s) => ({
              source: s.name,
              type: s.type,
              enabled: s.enabled ? "yes" : "no",
              every: formatDuration(s.pollIntervalMs),
              "last success": s.health.lastSuccessAt ? `${elapsed(s.health.lastSuccessAt, now)} ago` : "-",
              lag: elapsed(s.health.newestEventTime, now),
              "events pulled": s.health.eventsPulled,
              quarantined: s.quarantined,
              "last error":
                s.health.lastError && (!s.health.lastSuccessAt || (s.health.lastErrorAt ?? "") > s.health.lastSuccessAt)
                  ? s.health.lastError
                  : "-",
            })),
            ["source", "type", "enabled", "every", "last success", "lag", "events pulled", "quarantined", "last error"],
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
        // A source without credentials (a file) is only reachable; one with them has had them accepted.
        const proven = "auth" in source ? "answers and accepts its credentials" : "is reachable and readable";
        print(`ok: ${name} (${source.type}) ${proven}`);
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
            print(JSON.stringify(event));
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

  sources
    .command("reset")
    .description("move a source's checkpoint: to its start, or to where it reads the records of a time on")
    .argument("<name>", "source name")
    .option("--to <time>", "ISO time (or a duration before now, e.g. 2h) the next pull reads from")
    .action(async (name: string, options: { to?: string }) => {
      const { config, logger } = cliContext(globals());
      const source = findSource(config, name);
      const to = options.to === undefined ? undefined : parseSince(options.to, new Date(), "--to");
      const checkpoint = await withQueues(config, async ({ redis, keyspace, queues }) => {
        const connector = createConnector(source, createConnectorDeps({ redis, keyspace, logger }));
        const ruleState = new RedisRuleStateStore(redis, keyspace, {
          seenTtlMs: 0,
          maxEventIds: MAX_ALERT_EVENT_IDS,
          shards: await recordedStateShards(redis, keyspace, config.engine.stateShards),
        });
        try {
          return await resetSourceCheckpoint(redis, keyspace, connector, to, {
            queues,
            capWatermark: (seq, atMs) => ruleState.capSource(name, seq, atMs),
          });
        } catch (err) {
          throw new CliError((err as Error).message, 1);
        }
      });
      print(
        checkpoint === undefined
          ? `reset ${name}: its next pull starts from the beginning, and its watermark goes back with it (events queued within engine.dedupFor are dropped as duplicates)`
          : `reset ${name} to ${to?.toISOString()}: checkpoint ${JSON.stringify(checkpoint)}; its watermark goes back to that time`,
      );
    });

  const quarantine = sources
    .command("quarantine")
    .description("records a source refused (bad lines, malformed records), kept with their position and reason");

  quarantine
    .command("list")
    .description("quarantined records, oldest first")
    .argument("[source]", "only this source's")
    .option("--json", "print JSON lines")
    .action(async (sourceName: string | undefined, options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        const store = new QuarantineStore(redis, keyspace);
        const entries = await store.list(sourceName);
        if (options.json) {
          for (const entry of entries) print(JSON.stringify(entry));
          return;
        }
        const droppedNote = await quarantineDropsNote(store, config, sourceName);
        if (!entries.length) {
          print(`no quarantined records${sourceName ? ` of ${sourceName}` : ""}${droppedNote}`);
          return;
        }
        print(
          formatTable(
            entries.map((entry) => ({
              id: entry.id,
              source: entry.source,
              position: entry.position,
              "quarantined at": entry.quarantinedAt,
              reason: oneLine(entry.reason, 100),
            })),
            ["id", "source", "position", "quarantined at", "reason"],
          ) + droppedNote,
        );
      });
    });

  quarantine
    .command("show")
    .description("one quarantined record: where it came from, why it was refused, and its text as received")
    .argument("<id>", "record id (from `vigil sources quarantine list`)")
    .option("--json", "print one JSON document")
    .action(async (id: string, options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        const entry = await new QuarantineStore(redis, keyspace).get(id);
        if (!entry)
          throw new CliError(`no quarantined record has the id "${id}" (see \`vigil sources quarantine list\`)`, 1);
        print(options.json ? JSON.stringify(entry, null, 2) : formatEntry(entry));
      });
    });

  quarantine
    .command("retry")
    .description("re-parse quarantined records with the current acceptance rule and queue those it accepts")
    .argument("[ids...]", "record ids (from `vigil sources quarantine list`)")
    .option("--all", "retry every quarantined record")
    .action(async (ids: string[], options: { all?: boolean }) => {
      const selection = selectIds(ids, options.all);
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace, queues }) => {
        const outcomes = await retryQuarantined({ redis, keyspace, config, queues, ids: selection });
        for (const outcome of outcomes) {
          if ("reason" in outcome)
            print(`still refused ${outcome.id}${outcome.source ? ` (${outcome.source})` : ""}: ${outcome.reason}`);
          else if (outcome.outcome === "queued") print(`queued ${outcome.id} (${outcome.source})`);
          else print(`already queued ${outcome.id} (${outcome.source}): dropped from the quarantine`);
        }
        const done = outcomes.filter((o) => o.outcome === "queued" || o.outcome === "duplicate").length;
        print(`${done} of ${outcomes.length} record(s) queued`);
        if (done < outcomes.length) process.exitCode = 1;
      });
    });

  quarantine
    .command("drop")
    .description("forget quarantined records")
    .argument("[ids...]", "record ids (from `vigil sources quarantine list`)")
    .option("--all", "drop every quarantined record")
    .action(async (ids: string[], options: { all?: boolean }) => {
      const selection = selectIds(ids, options.all);
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        const store = new QuarantineStore(redis, keyspace);
        const targets = selection === "all" ? (await store.list()).map((entry) => entry.id) : selection;
        let dropped = 0;
        for (const id of targets) {
          if (await store.drop(id)) dropped++;
          else print(`no quarantined record has the id ${id}`);
        }
        print(`${dropped} record(s) dropped`);
        if (dropped < targets.length) process.exitCode = 1;
      });
    });
}

function selectIds(ids: string[], all: boolean | undefined): string[] | "all" {
  if (!all && ids.length === 0) throw new CliError("name record ids or pass --all", 2);
  if (all && ids.length) throw new CliError("pass either ids or --all, not both", 2);
  return all ? "all" : ids;
}

/** Lines saying which sources' quarantines dropped records unasked (full or expired), or "". */
async function quarantineDropsNote(store: QuarantineStore, config: Config, only: string | undefined): Promise<string> {
  const names = only === undefined ? config.sources.map((source) => source.name) : [only];
  const { recordsPerSource, bytesPerSource, ttlMs } = store.limitsInForce;
  const lines: string[] = [];
  for (const name of names) {
    const { full, expired } = await store.drops(name);
    if (full > 0)
      lines.push(
        `${name}: ${full} older record(s) dropped because its quarantine was full (at most ${recordsPerSource} records and ${bytesPerSource / 2 ** 20} MiB per source; vigil_quarantine_dropped_total)`,
      );
    if (expired > 0) lines.push(`${name}: ${expired} record(s) expired (kept ${Math.round(ttlMs / 86_400_000)} days)`);
  }
  return lines.length ? `\n\n${lines.join("\n")}` : "";
}

function oneLine(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function formatEntry(entry: QuarantineEntry): string {
  // Every field may hold record text: each stays on its line, controls escaped.
  return [
    `id:             ${inlineText(entry.id)}`,
    `source:         ${inlineText(entry.source)}`,
    `position:       ${inlineText(entry.position)}`,
    `reason:         ${inlineText(entry.reason)}`,
    ...(entry.field ? [`field:          ${inlineText(entry.field)}`] : []),
    `format:         ${inlineText(entry.format)}`,
    `quarantined at: ${inlineText(entry.quarantinedAt)}`,
    `size:           ${entry.rawBytes} bytes${entry.truncated ? ` (only the first ${entry.raw.length} characters kept)` : ""}`,
    "raw (control characters escaped):",
    inlineText(entry.raw),
  ].join("\n");
}
