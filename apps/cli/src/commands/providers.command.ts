import type { Command } from "commander";
import { ACTION_VOCABULARIES } from "@vigil/connectors";
import { CliError, type GlobalOptions } from "../context.js";
import { formatTable } from "../format.js";

export function registerProvidersCommands(program: Command, _globals: () => GlobalOptions): void {
  const providers = program.command("providers").description("what each provider's audit log records");

  providers
    .command("actions")
    .description("the actions a provider records, with the category and outcomes Vigil gives them")
    .argument("<provider>", `one of ${Object.keys(ACTION_VOCABULARIES).join(", ")}`)
    .option("--json", "print JSON")
    .action((provider: string, options: { json?: boolean }) => {
      const vocabulary = ACTION_VOCABULARIES[provider];
      if (!vocabulary)
        throw new CliError(`unknown provider "${provider}" (known: ${Object.keys(ACTION_VOCABULARIES).join(", ")})`, 2);
      if (options.json) {
        console.log(JSON.stringify(vocabulary, null, 2));
        return;
      }
      console.log(
        formatTable(
          vocabulary.map((entry) => ({ ...entry, outcomes: entry.outcomes.join(", ") })),
          ["action", "category", "outcomes", "note"],
        ),
      );
    });
}
