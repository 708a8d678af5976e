import { createReadStream } from "node:fs";
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
  type WatermarkEntry,
} from "@vigil/core";
import { Engine, loadRules, OrderedFeed, RedisRuleStateStore } from "@vigil/engine";
import { CliError, cliContext, requireRedis, type GlobalOptions } from "../context.js";
import { print } from "../format.js";

/** Parses one JSON line into an event, or says what is wrong with it (core's `acceptEventLine`, as the live file source). */
function parseEventLine(line: string): { event: AuditEvent } | { error: string } {
  const accepted = acceptEventLine(line);
  return accepted.ok ? { event: accepted.event } : { error: accepted.reason };
}

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
    .action(async (options: { rules: string[]; events: string }) => {
      const { config } = cliContext(globals());
      const rules = loadRules(options.rules);
      const input = options.events === "-" ? process.stdin : createReadStream(options.events);
      const inputName = options.events === "-" ? "stdin" : options.events;
      const opened = new Promise<void>((resolve, reject) => {
        input.once("error", (err: NodeJS.ErrnoException) =>
          reject(new CliError(`cannot read ${inputName}: ${err.code ?? err.message}`, 2)),
        );
        if (input === process.stdin) resolve();
        else input.once("open", () => resolve());
      });
      await opened;
      const redis = await requireRedis(config);
      const keyspace = new Keyspace(`vigil-replay-${randomUUID()}`);
      const engine = new Engine(
        rules,
        new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 86_400_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
      );
      const stats = { events: 0, alerts: 0, badLines: 0, late: 0 };
      let batch: AuditEvent[] = [];
      // Lateness is judged in file order, per source, as the live sources judge it in theirs; after
      // each batch every source's watermark advances to the newest event time it delivered, a
      // watermark line ({"watermark": ISO, "source"?}) advances it there, and so does the end of
      // input to the largest event time read.
      const feed = new OrderedFeed(engine, "replay");
      const report = (alerts: readonly Alert[]) => {
        for (const alert of alerts) print(JSON.stringify(alert));
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
          const parsed = parseEventLine(line);
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
        report(await feed.end());
      } finally {
        process.off("SIGINT", interrupt);
        await deleteKeyspace(redis, keyspace);
        await redis.quit();
      }
      process.stderr.write(
        `replayed ${stats.events} event(s): ${stats.alerts} alert(s)${stats.badLines ? `, ${stats.badLines} bad line(s) skipped` : ""}${stats.late ? `, ${stats.late} late` : ""}\n`,
      );
      if (stats.badLines) process.exitCode = 1;
    });
}
