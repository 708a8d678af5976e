import type { Command } from "commander";

/** An example (or two) per command, by its path; `vigil <command> --help` ends with them. */
const EXAMPLES: Record<string, string[]> = {
  run: ["vigil run                      # every role in one process", "vigil run engine --port 9465"],
  "rules validate": ["vigil rules validate rules/ my-rules/extra.yaml"],
  "rules test": ["vigil rules test rules/zendesk"],
  "rules schema": ["vigil rules schema > rule.schema.json"],
  "rules show": ["vigil rules show zendesk.mass-user-deletion"],
  "rules docs": ["vigil rules docs --out docs/rules.md"],
  "rules coverage": ["vigil rules coverage rules/"],
  "providers actions": ["vigil providers actions zendesk"],
  "config validate": ["vigil config validate deploy/vigil.config.yaml"],
  "config schema": ["vigil config schema > config.schema.json"],
  replay: [
    "vigil replay --rules rules/ --events events.jsonl",
    "zcat audit.jsonl.gz | vigil replay --rules rules/ --events -",
    "vigil replay --rules rules/ --events audit-files.jsonl --source audit-files   # as that file source reads it",
  ],
  status: ["vigil status", "vigil status --json | jq .sources"],
  "deliveries failed": ["vigil deliveries failed"],
  "deliveries retry": ["vigil deliveries retry --all", "vigil deliveries retry <id> <id>"],
  "alerts list": [
    "vigil alerts list --since 24h --severity critical",
    "vigil alerts list --status silenced --json | jq -r .id",
  ],
  "alerts show": ["vigil alerts show <alert id>"],
  "silence add": [
    'vigil silence add --match ruleId=zendesk.mass-user-deletion --match actor.email=bot@acme.example --for 2h --reason "planned migration"',
    'vigil silence add --match "ruleId=~zendesk\\..*" --until 2026-12-12T04:00:00Z --reason "CHG-1234" --author ana',
  ],
  "silence list": ["vigil silence list", "vigil silence list --all --json"],
  "silence expire": ["vigil silence expire <silence id>"],
  "jobs failed": ["vigil jobs failed --queue events"],
  "jobs retry": ["vigil jobs retry --all                # every queue", "vigil jobs retry --queue events <id>"],
  "sources list": ["vigil sources list"],
  "sources check": ["vigil sources check zendesk-prod"],
  "sources pull": [
    "vigil sources pull zendesk-prod --since 2h",
    "vigil sources pull ashby --since 2026-03-01T00:00:00Z --until 2026-03-02T00:00:00Z",
  ],
  "sources reset": ["vigil sources reset zendesk-prod --to 3d"],
  "sources quarantine list": ["vigil sources quarantine list audit-files"],
  "sources quarantine show": ["vigil sources quarantine show <id>"],
  "sources quarantine retry": ["vigil sources quarantine retry --all"],
  "sources quarantine drop": ["vigil sources quarantine drop <id>"],
  simulate: ["vigil simulate --providers zendesk pylon --fault-rate 0.1 --faults 429 slow"],
  demo: [
    "vigil demo",
    "vigil demo --events apps/cli/src/demo/sample-events.jsonl",
    "vigil demo --render-dir /tmp/vigil-render   # every channel's message per alert, as files",
  ],
};

function path(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Adds its examples to every command that runs something (a command with subcommands lists those instead). */
export function addExamples(program: Command): void {
  const visit = (command: Command) => {
    for (const sub of command.commands) visit(sub);
    if (command === program || command.commands.length > 0) return;
    const lines = EXAMPLES[path(command)];
    if (lines)
      command.addHelpText(
        "after",
        `\nExample${lines.length > 1 ? "s" : ""}:\n${lines.map((l) => `  ${l}`).join("\n")}`,
      );
  };
  visit(program);
}
