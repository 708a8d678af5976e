import type { Command } from "commander";
import { ConfigError, configPath, formatProblem, loadConfig } from "@vigil/core";
import { configJsonSchema } from "../config-schema.js";
import type { GlobalOptions } from "../context.js";
import { VigilConfigSchema } from "../vigil-config.js";

export function registerConfigCommands(program: Command, globals: () => GlobalOptions): void {
  const config = program.command("config").description("check and describe the configuration file");

  config
    .command("validate")
    .description("check a config file; prints every problem as file:line:col: message")
    .argument("[file]", "config file (default: --config, $VIGIL_CONFIG, else ./vigil.config.yaml)")
    .addHelpText(
      "after",
      "\nReferences (${NAME}, ${file:/path}) are resolved as `vigil run` would: run it where those are set.",
    )
    .action((file: string | undefined) => {
      const path = file ?? configPath({ path: globals().config }).path;
      try {
        const loaded = loadConfig({ schema: VigilConfigSchema, path, env: process.env });
        console.log(
          `${path}: valid (${loaded.sources.length} source(s), ${loaded.channels.length} channel(s), ${loaded.routes.length} route(s))`,
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const problem of err.problems) console.log(formatProblem(problem));
        console.log(`${err.problems.length} problem(s)`);
        process.exitCode = 1;
      }
    });

  config
    .command("schema")
    .description("print the JSON Schema of the config file (for editors; a copy is schema/config.schema.json)")
    .action(() => {
      console.log(JSON.stringify(configJsonSchema(), null, 2));
    });
}
