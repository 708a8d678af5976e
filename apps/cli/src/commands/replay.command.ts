import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ruleLoadOptions } from "../rule-options.js";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import {
  acceptEventLine,
  DEFAULT_EVENT_BATCH_SIZE,
  deleteKeyspace,
  Keyspace,
  MAX_ALERT_EVENT_IDS,
  WatermarkEntrySchema,
  type Alert,
  type AuditEvent,
  type SourceBinding,
  type WatermarkEntry,
} from "@vigil/core";
import { Engine, InputSources, ipGeoFromConfig, loadRules, OrderedFeed, RedisRuleStateStore } from "@vigil/engine";
import { CliError, cliContext, requireRedis, type GlobalOptions } from "../context.js";

/**
 * Parses one JSON line into an event, or says what is wrong with it (core's `acceptEventLine`, as
 * the live sources, with the same `events.maxFutureSkew` from the wall clock; with `binding`,
 * exactly as the file source of that name reads it).
 */
function parseEventLine(
  line: string,
  maxFutureSkewMs: number,
  binding?: SourceBinding,
): { event: AuditEvent } | { error: string } {
  const accepted = acceptEventLine(line, { nowMs: Date.now(), maxFutureSkewMs }, binding);
  return accepted.ok ? { event: accepted.event } : { error: accepted.reason };
}

/** The input as a file that can be read twice (stdin is copied to a temporary file first). */
async function rereadable(events: string): Promise<{ path: string; name: string; cleanup(): Promise<void> }> {
  if (events !== "-") return { path: events, name: events, cleanup: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "vigil-replay-"));
  const path = join(dir, "stdin.jsonl");
  await pipeline(process.stdin, createWriteStream(path));
  return { path, name: "stdin", cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The sources the input's events come from (the first pass): the engine's configured sources for this run. */
async function inputSources(
  path: string,
  maxFutureSkewMs: number,
  binding: SourceBinding | undefined,
): Promise<InputSources> {
  const sources = new InputSources();
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (!line.trim() || parseWatermarkLine(line)) continue;
    const parsed = parseEventLine(line, maxFutureSkewMs, binding);
    if ("event" in parsed) sources.add(parsed.event);
  }
  return sources;
}

/** The file source's default lookback: at the end of its input, replay decides as a file source read to its end. */
const FILE_SOURCE_LOOKBACK_MS = 5 * 60_000;

/** A watermark line (`{"watermark": "<ISO>", "source"?: "<name>"}`), else undefined. */
function parseWatermarkLine(line: string): WatermarkEntry | undefined {
  if (!line.includes('"watermark"')) return undefined;
  try {
    const parsed = WatermarkEntrySchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function registerReplayCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("replay")
    .description(
      "evaluate events (JSON lines, in file order) through the engine in a throwaway namespace; prints alerts as JSON lines",
    )
    .requiredOption("--rules <paths...>", "rule files or folders")
    .requiredOption("--events <file>", "JSON-lines file of events, or - for stdin")
    .option(
      "--source <name>",
      "read the file as the file source of this name does: its lines are that source's (a line naming another is refused), their ids namespaced by it",
    )
    .option("--provider <provider>", "with --source: the provider the file source declares")
    .option(
      "--until <time>",
      "the input holds everything its sources delivered before this ISO time (default: now less 5m, as a file source read to its end)",
    )
    .action(
      async (options: { rules: string[]; events: string; source?: string; provider?: string; until?: string }) => {
        const { config } = cliContext(globals());
        const until = options.until === undefined ? Date.now() - FILE_SOURCE_LOOKBACK_MS : Date.parse(options.until);
        if (Number.isNaN(until)) throw new CliError(`--until "${options.until}" is not an ISO time`, 2);
        const rules = loadRules(options.rules, ruleLoadOptions(config));
        if (options.provider !== undefined && options.source === undefined)
          throw new CliError("--provider goes with --source (the file source that declares it)", 2);
        const binding: SourceBinding | undefined =
          options.source === undefined
            ? undefined
            : { name: options.source, ...(options.provider === undefined ? {} : { provider: options.provider }) };
        const file = await rereadable(options.events);
        const inputName = file.name;
        const input = createReadStream(file.path);
        const opened = new Promise<void>((resolve, reject) => {
          input.once("error", (err: NodeJS.ErrnoException) =>
            reject(new CliError(`cannot read ${inputName}: ${err.code ?? err.message}`, 2)),
          );
          input.once("open", () => resolve());
        });
        await opened;
        const sources = await inputSources(file.path, config.events.maxFutureSkew, binding);
        const redis = await requireRedis(config);
        const geo = ipGeoFromConfig(config.engine.geoip);
        const keyspace = new Keyspace(`vigil-replay-${randomUUID()}`);
        const engine = new Engine(
          rules,
          new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 86_400_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
          // The same enrichment as the engine role's, so a replay raises the alerts a live run does.
          { sources: sources.identities, ...(geo ? { geo } : {}) },
        );
        const stats = { events: 0, alerts: 0, badLines: 0, late: 0 };
        let batch: AuditEvent[] = [];
        // Lateness is judged in file order, per source, as the live sources judge it in theirs; after
        // each batch every source's watermark advances to the newest event time it delivered, a
        // watermark line ({"watermark": ISO, "source"?}) advances it there, and so does the end of
        // input to the wall clock less the file source's lookback (as a file source read to its end).
        const feed = new OrderedFeed(engine, "replay");
        const report = (alerts: readonly Alert[]) => {
          for (const alert of alerts) process.stdout.write(`${JSON.stringify(alert)}\n`);
          stats.alerts += alerts.length;
        };
        const flush = async () => {
          if (!batch.length) return;
          const outcome = await feed.batch(batch);
          report(outcome.alerts);
          stats.late += outcome.late.length;
          for (const late of outcome.late)
            process.stderr.write(
              `late: event ${late.eventId} arrived beyond the lateness of ${late.ruleId}; not counted\n`,
            );
          batch = [];
        };
        const interrupt = () => void deleteKeyspace(redis, keyspace).finally(() => process.exit(130));
        process.once("SIGINT", interrupt);
        try {
          let lineNumber = 0;
          for await (const line of createInterface({ input, crlfDelay: Infinity })) {
            lineNumber++;
            if (!line.trim()) continue;
            const mark = parseWatermarkLine(line);
            if (mark) {
              await flush();
              report(await feed.watermark(Date.parse(mark.watermark), mark.source));
              continue;
            }
            const parsed = parseEventLine(line, config.events.maxFutureSkew, binding);
            if ("error" in parsed) {
              stats.badLines++;
              process.stderr.write(`${inputName}:${lineNumber}: ${parsed.error}\n`);
              continue;
            }
            stats.events++;
            batch.push(parsed.event);
            if (batch.length >= DEFAULT_EVENT_BATCH_SIZE) await flush();
          }
          await flush();
          report(await feed.end(until));
        } finally {
          process.off("SIGINT", interrupt);
          await deleteKeyspace(redis, keyspace);
          await redis.quit();
          await file.cleanup();
        }
        process.stderr.write(
          `replayed ${stats.events} event(s): ${stats.alerts} alert(s)${stats.badLines ? `, ${stats.badLines} bad line(s) skipped` : ""}${stats.late ? `, ${stats.late} late` : ""}\n`,
        );
        if (stats.badLines) process.exitCode = 1;
      },
    );
}
