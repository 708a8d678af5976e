#!/usr/bin/env node
import { Command, CommanderError, Option } from "commander";
import { reportError, type GlobalOptions } from "./context.js";
import { registerAlertsCommands } from "./commands/alerts.command.js";
import { registerDeliveriesCommands } from "./commands/deliveries.command.js";
import { registerDemoCommand } from "./commands/demo.command.js";
import { registerJobsCommands } from "./commands/jobs.command.js";
import { registerReplayCommand } from "./commands/replay.command.js";
import { registerRulesCommands } from "./commands/rules.command.js";
import { registerRunCommand } from "./commands/run.command.js";
import { registerSilenceCommands } from "./commands/silence.command.js";
import { registerSimulateCommand } from "./commands/simulate.command.js";
import { registerSourcesCommands } from "./commands/sources.command.js";
import { registerStatusCommand } from "./commands/status.command.js";

const program = new Command()
  .name("vigil")
  .description("Vigil: detection rules over SaaS audit logs, alerts by email and webhook")
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
registerReplayCommand(program, globals);
registerStatusCommand(program, globals);
registerDeliveriesCommands(program, globals);
registerAlertsCommands(program, globals);
registerSilenceCommands(program, globals);
registerJobsCommands(program, globals);
registerDemoCommand(program, globals);
registerSimulateCommand(program, globals);
registerSourcesCommands(program, globals);

program.parseAsync(process.argv).catch((err: unknown) => {
  // Commander has already printed its message (or the help); usage errors exit 2.
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else process.exitCode = reportError(err);
});
