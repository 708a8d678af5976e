#!/usr/bin/env node
import { CommanderError } from "commander";
import { reportError } from "./context.js";
import { buildProgram } from "./program.js";

const program = buildProgram();

program.parseAsync(process.argv).catch((err: unknown) => {
  // Commander has already printed its message (or the help); usage errors exit 2.
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else process.exitCode = reportError(err);
});
