import { Command, Option } from "commander";
import type { GlobalOptions } from "./context.js";
import { registerAlertsCommands } from "./commands/alerts.command.js";
import { registerConfigCommands } from "./commands/config.command.js";
import { registerDeliveriesCommands } from "./commands/deliveries.command.js";
import { registerDemoCommand } from "./commands/demo.command.js";
import { registerJobsCommands } from "./commands/jobs.command.js";
import { registerProvidersCommands } from "./commands/providers.command.js";
import { registerReplayCommand } from "./commands/replay.command.js";
import { registerRulesCommands } from "./commands/rules.command.js";
import { registerRunCommand } from "./commands/run.command.js";
import { registerSilenceCommands } from "./commands/silence.command.js";
import { registerSimulateCommand } from "./commands/simulate.command.js";
import { registerSourcesCommands } from "./commands/sources.command.js";
import { registerStatusCommand } from "./commands/status.command.js";
import { addExamples } from "./examples.js";
import { VERSION } from "./version.js";

/** The `vigil` command with every subcommand (main.ts parses the process's arguments with it). */
export function buildProgram(): Command {
  const program = new Command()
    .name("vigil")
    .description("Vigil: detection rules over SaaS audit logs, alerts by email and webhook")
    .version(VERSION, "-V, --version", "print Vigil's version")
    .option("-c, --config <file>", "config file (default: $VIGIL_CONFIG, else ./vigil.config.yaml if present)")
    .addOption(
      new Option("--log-level <level>", "log level (default: $VIGIL_LOG_LEVEL or info)").choices([
        "fatal",
        "error",
        "warn",
        "info",
        "debug",
        "trace",
        "silent",
      ]),
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  registerRunCommand(program, globals);
  registerRulesCommands(program, globals);
  registerConfigCommands(program, globals);
  registerReplayCommand(program, globals);
  registerStatusCommand(program, globals);
  registerDeliveriesCommands(program, globals);
  registerAlertsCommands(program, globals);
  registerSilenceCommands(program, globals);
  registerJobsCommands(program, globals);
  registerDemoCommand(program, globals);
  registerSimulateCommand(program, globals);
  registerSourcesCommands(program, globals);
  registerProvidersCommands(program, globals);
  addExamples(program);
  return program;
}
