import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";

/** Every command that runs something, with its full name (`sources quarantine list`). */
function leaves(command: Command, prefix: string[] = []): [string, Command][] {
  return command.commands.flatMap((sub) => {
    const name = [...prefix, sub.name()];
    return sub.commands.length ? leaves(sub, name) : [[name.join(" "), sub] as [string, Command]];
  });
}

function helpOf(command: Command): string {
  let text = "";
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

describe("the vigil command's help", () => {
  it("ends every command's help with an example of that command", () => {
    const commands = leaves(buildProgram());
    expect(commands.length).toBeGreaterThan(20);
    for (const [name, command] of commands) {
      const help = helpOf(command);
      expect(help, name).toMatch(/\nExamples?:\n {2}vigil /);
      const examples = help
        .slice(help.search(/\nExamples?:\n/))
        .split("\n")
        .filter((l) => l.startsWith("  vigil "));
      for (const example of examples) expect(example.startsWith(`  vigil ${name}`), `${name}: ${example}`).toBe(true);
    }
  });
});
