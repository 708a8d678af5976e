import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli.js";

const dir = mkdtempSync(join(tmpdir(), "vigil-cli-tuning-"));

/** A config that tunes a shipped rule without copying it: lower severity, a service account excepted. */
const config = join(dir, "vigil.config.yaml");
writeFileSync(
  config,
  [
    "rules:",
    "  paths: [rules]",
    "  lists:",
    "    - { list: automation-accounts, items: [usr_terraform, usr_backup] }",
    "  overrides:",
    "    - override: pylon.api-token-created",
    "      severity: low",
    "      tags: [attack.persistence, T1098.001, team.platform]",
    "      exceptions:",
    "        - reason: Terraform rotates its own token every night",
    "          when: { in: [{ var: actor.id }, { list: automation-accounts }] }",
  ].join("\n"),
);

const token = (id: string, actor: string) =>
  JSON.stringify({
    id,
    time: "2026-03-01T10:00:00Z",
    provider: "pylon",
    action: "APITokenCreated",
    actor: { id: actor },
  });

describe("tuning a shipped rule from the config", () => {
  it("rules show prints the effective rule and where it was overridden", async () => {
    const result = await runCli(["--config", config, "rules", "show", "pylon.api-token-created"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("# rules/pylon/api-token-created.yaml:");
    expect(result.stdout).toContain(`# overridden at ${config}:6:7`);
    expect(result.stdout).toMatch(/\nseverity: low\n/);
    expect(result.stdout).toContain("- team.platform");
    expect(result.stdout).toContain("reason: Terraform rotates its own token every night");
    // The list is expanded where it is used.
    expect(result.stdout).toMatch(/- usr_terraform\n\s+- usr_backup/);
  }, 60_000);

  it("the tuned rule alerts at its new severity and not on the excepted account", async () => {
    const result = await runCli(["--config", config, "replay", "--rules", "rules/pylon", "--events", "-"], {
      input: `${token("t1", "usr_terraform")}\n${token("t2", "usr_eve")}\n`,
    });
    expect(result.code).toBe(0);
    const alerts = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { ruleId: string; severity: string; eventIds: string[] });
    // (Other Pylon rules may also see these events, e.g. the source going silent after them.)
    const tokens = alerts.filter((a) => a.ruleId === "pylon.api-token-created");
    expect(tokens.map((a) => [a.ruleId, a.severity, a.eventIds])).toEqual([["pylon.api-token-created", "low", ["t2"]]]);
  }, 60_000);

  it("an override of an unknown rule or field is an error at its place in the config", async () => {
    const bad = join(dir, "bad.config.yaml");
    writeFileSync(
      bad,
      "rules:\n  overrides:\n    - override: pylon.api-token-create\n      severity: low\n    - { override: pylon.api-token-created, severty: low }\n",
    );
    const result = await runCli(["--config", bad, "rules", "validate", "rules"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `${bad}:3:7: override: no rule "pylon.api-token-create" is loaded (did you mean pylon.api-token-created`,
    );
    expect(result.stdout).toContain(
      `${bad}:5:44: override of pylon.api-token-created: unknown key "rules.overrides.1.severty"`,
    );
  }, 60_000);
});
