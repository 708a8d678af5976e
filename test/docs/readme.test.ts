import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VigilConfigSchema } from "@vigil/cli";
import { parseConfigText } from "@vigil/core";
import { parseRules } from "@vigil/engine";

const README = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");

function yamlBlockAfter(heading: string): string {
  const section = README.slice(README.indexOf(heading));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`no yaml block after ${heading}`);
  return match[1]!;
}

describe("the README", () => {
  it("shows a config file that loads", () => {
    const text = yamlBlockAfter("## Configuration").replace(
      /\$\{file:[^}]+\}/g,
      "whsec_YS0zMi1ieXRlLWtleS1mb3ItY29uZmlnLXRlc3RzISE=",
    );
    const env = {
      SMTP_PASSWORD: "x",
      ZENDESK_API_TOKEN: "x",
      PYLON_TOKEN: "x",
      ASHBY_API_KEY: "x",
      LOGFIRE_TOKEN: "x",
      BH_TOKEN_ID: "x",
      SLACK_BOT_TOKEN: "xoxb-x",
      PAGERDUTY_ROUTING_KEY: "R0123456789abcdefghijklmnopqrstu",
      TEAMS_WORKFLOW_URL: "https://prod.example.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=y",
    };
    const config = parseConfigText(VigilConfigSchema, text, "README.md", env);
    expect(config.sources.map((s) => s.type)).toEqual(["zendesk", "pylon", "ashby", "logfire", "bloodhound", "file"]);
    expect(config.channels.map((c) => [c.name, c.type])).toEqual([
      ["soc-email", "email"],
      ["soc-webhook", "webhook"],
      ["soc-slack", "slack"],
      ["soc-teams", "teams"],
      ["oncall-pagerduty", "pagerduty"],
      ["alertmanager", "alertmanager"],
    ]);
    expect(config.routes.map((route) => [route.match.length, route.continue, route.groupBy])).toEqual([
      [1, true, undefined],
      [1, false, ["ruleId", "actor.email"]],
    ]);
    expect(config).toMatchObject({
      defaultRoute: { channels: ["soc-email"] },
      alertHistory: { retention: 30 * 86_400_000 },
    });
    expect(config.inhibit).toHaveLength(1);
    expect(config.silences).toHaveLength(1);
  });

  it("shows a worked example for a security team that loads: critical to PagerDuty and Slack, the rest grouped into Slack", () => {
    const text = yamlBlockAfter("### Worked example: a security team");
    const env = { SLACK_BOT_TOKEN: "xoxb-x", PAGERDUTY_ROUTING_KEY: "R0123456789abcdefghijklmnopqrstu" };
    const config = parseConfigText(VigilConfigSchema, text, "README.md", env);
    expect(config.channels.map((c) => c.type)).toEqual(["pagerduty", "slack"]);
    expect(config.routes.map((route) => [route.name, route.channels, route.groupBy])).toEqual([
      ["critical", ["secops-pager", "secops-slack"], undefined],
      ["slack", ["secops-slack"], ["ruleId", "actor.email"]],
    ]);
    expect(config.inhibit).toMatchObject([{ equal: ["actor.email"], for: 3_600_000 }]);
  });

  it("shows a rule that loads", () => {
    const { rules, problems } = parseRules(yamlBlockAfter("## Rules"), "README.md");
    expect(problems).toEqual([]);
    expect(rules[0]!.rule).toMatchObject({
      id: "zendesk.mass-user-deletion",
      suppress: 3_600_000,
      threshold: { count: 10, within: 300_000 },
    });
  });

  it("shows a sequence rule that loads", () => {
    const { rules, problems } = parseRules(yamlBlockAfter("#### `sequence`"), "README.md");
    expect(problems).toEqual([]);
    expect(rules[0]!.rule.sequence?.steps.map((s) => s.count)).toEqual([5, 1]);
  });

  it("shows a newValue rule that loads", () => {
    const { rules, problems } = parseRules(yamlBlockAfter("#### `newValue`"), "README.md");
    expect(problems).toEqual([]);
    expect(rules[0]!.rule.newValue).toMatchObject({ fields: ["ip"], learning: 7 * 86_400_000 });
  });

  it("installs exactly the pnpm that packageManager pins", () => {
    // Any other pnpm tries to switch to the pin, and a registry without signatures refuses the switch.
    const pinned = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8"))
      .packageManager as string;
    const quickstart = /```sh\n([\s\S]*?)```/.exec(README.slice(README.indexOf("## Quickstart")))![1]!;
    const installs = [...quickstart.matchAll(/npm i(?:nstall)? -g (pnpm@\S+)/g)].map((m) => m[1]);
    expect(installs).toEqual([pinned]);
  });

  it("names every command the CLI has", async () => {
    const { execFileSync } = await import("node:child_process");
    const help = execFileSync(
      join(import.meta.dirname, "../../node_modules/.bin/tsx"),
      ["apps/cli/src/main.ts", "--help"],
      { cwd: join(import.meta.dirname, "../.."), encoding: "utf8" },
    );
    const commands = [...help.matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const command of commands) expect(README, command).toContain(`\`vigil ${command}`);
  });
});
