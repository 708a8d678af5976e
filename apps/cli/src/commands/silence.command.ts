import { parseDuration } from "@vigil/core";
import { SilenceInputError, SilenceStore, type Silence } from "@vigil/notifier";
import type { Command } from "commander";
import { CliError, cliContext, withQueues, type GlobalOptions } from "../context.js";
import { formatTable, print } from "../format.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerSilenceCommands(program: Command, globals: () => GlobalOptions): void {
  const silence = program.command("silence").description("mute alerts matching a pattern for a while");

  silence
    .command("add")
    .description("silence alerts raised from now until the silence expires")
    .option(
      "--match <matcher>",
      "field=value, field!=value, field=~regex or field!~regex (repeat: all must hold)",
      collect,
      [],
    )
    .option("--for <duration>", "how long, e.g. 2h")
    .option("--until <time>", "until an ISO-8601 time")
    .option("--reason <text>", "why (required)")
    .option("--author <name>", "who (default: $USER)")
    .action(async (options: { match: string[]; for?: string; until?: string; reason?: string; author?: string }) => {
      const forMs = options.for === undefined ? undefined : parseDuration(options.for);
      if (options.for !== undefined && forMs === undefined)
        throw new CliError(`--for "${options.for}" is not a duration such as 30m, 2h or 7d`, 2);
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        try {
          const added = await new SilenceStore(redis, keyspace, config.silences).add({
            match: options.match,
            reason: options.reason,
            author: options.author ?? process.env.USER,
            forMs,
            until: options.until,
          });
          print(`silence ${added.id} added: ${added.match.join(" ")} until ${added.endsAt}`);
        } catch (err) {
          if (err instanceof SilenceInputError) throw new CliError(err.message, 2);
          throw err;
        }
      });
    });

  silence
    .command("list")
    .description("list silences (active and pending; --all also the expired)")
    .option("--all", "include expired silences")
    .option("--json", "print JSON lines")
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        const now = Date.now();
        const silences = (await new SilenceStore(redis, keyspace, config.silences).list()).filter(
          (each) => options.all || Date.parse(each.endsAt) > now,
        );
        if (options.json) {
          for (const each of silences) print(JSON.stringify({ ...each, state: state(each, now) }));
          return;
        }
        if (!silences.length) {
          print("no silences");
          return;
        }
        print(
          formatTable(
            silences.map((each) => ({
              id: each.id,
              state: state(each, now),
              match: each.match.join(" "),
              ends: each.endsAt,
              author: each.author,
              reason: each.reason,
            })),
            ["id", "state", "match", "ends", "author", "reason"],
          ),
        );
      });
    });

  silence
    .command("expire")
    .description("end a silence now")
    .argument("<id>", "the silence's id (from `vigil silence list`)")
    .action(async (id: string) => {
      const { config } = cliContext(globals());
      if (config.silences.length && id.startsWith("config-"))
        throw new CliError(`silence ${id} is declared in the config: remove it there`, 2);
      await withQueues(config, async ({ redis, keyspace }) => {
        const expired = await new SilenceStore(redis, keyspace).expire(id);
        if (!expired) throw new CliError(`no silence ${id}`, 1);
        print(`silence ${id} expired at ${expired.endsAt}`);
      });
    });
}

function state(silence: Silence, now: number): string {
  if (Date.parse(silence.endsAt) <= now) return silence.expiredAt ? "expired (by hand)" : "expired";
  return Date.parse(silence.startsAt) > now ? "pending" : "active";
}
