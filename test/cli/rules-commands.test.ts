import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli.js";
import { freePort } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vigil-cli-rules-"));
const broken = join(dir, "broken.yaml");
writeFileSync(
  broken,
  [
    "id: broken.rule",
    "name: Broken",
    "severity: high",
    "when:",
    "  and:",
    "    - { equals: [{ var: action }, destroy] }",
    "threshold: { count: 3, within: 5 mins, groupBy: [actor.id] }",
  ].join("\n"),
);

describe("vigil rules", () => {
  it("validate exits 0 on the shipped rules", async () => {
    const result = await runCli(["rules", "validate", "rules"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+ rule\(s\) valid in rules/);
  });

  it("validate prints every problem as file:line:col: message and exits non-zero", async () => {
    const result = await runCli(["rules", "validate", broken]);
    expect(result.code).toBe(1);
    expect(result.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        `${broken}:7:32: rule broken.rule: threshold.within: a duration such as 30s, 5m, 1h or 7d, found "5 mins" (a string)`,
        `${broken}:6:9: rule broken.rule: when: unknown JsonLogic operator "equals"`,
        "2 problem(s)",
      ]),
    );
  });

  it("test runs the rules' own tests and prints a line per test and a summary", async () => {
    const result = await runCli(["rules", "test", "rules/zendesk"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("pass  zendesk.mass-user-deletion › ten deletions in five minutes alert once");
    // One line per test, and a summary that counts them.
    const passes = result.stdout.split("\n").filter((line) => line.startsWith("pass  ")).length;
    expect(passes).toBeGreaterThanOrEqual(9);
    expect(result.stdout).toContain(`\n${passes} passed, 0 failed\n`);
  });

  it("test needs no Redis: with Redis at a closed port it runs in memory, and --redis uses Redis", async () => {
    const config = join(dir, "closed-redis.config.yaml");
    writeFileSync(config, `redis:\n  url: redis://127.0.0.1:${await freePort()}\n`);
    const result = await runCli(["--config", config, "rules", "test", "rules/zendesk"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\n\d+ passed, 0 failed\n/);
    const onRedis = await runCli(["--config", config, "rules", "test", "--redis", "rules/zendesk"], {
      env: { VIGIL_REDIS_WAIT: "1s" },
    });
    expect(onRedis.code).toBe(2);
    expect(onRedis.stderr).toMatch(/^vigil: .*redis/i);
  }, 90_000);

  it("validate names a mistyped field with the nearest one, and warns of an action the provider never records", async () => {
    const typo = join(dir, "typo.yaml");
    writeFileSync(
      typo,
      [
        "id: typo.rule",
        "name: Typo",
        "severity: low",
        "when: { and: [{ '==': [{ var: provider }, pylon] }, { '==': [{ var: target.typ }, user] }] }",
      ].join("\n"),
    );
    const result = await runCli(["rules", "validate", typo]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `${typo}:4:64: rule typo.rule: when: unknown field "target.typ" (did you mean target.type?)`,
    );
    const unknownAction = join(dir, "action.yaml");
    writeFileSync(
      unknownAction,
      "id: a\nname: A\nseverity: low\nwhen: { and: [{ '==': [{ var: provider }, pylon] }, { '==': [{ var: action }, LoginFail] }] }\n",
    );
    const warned = await runCli(["rules", "validate", unknownAction]);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain(
      `${unknownAction}:4:79: rule a: when: no action "LoginFail" among those pylon records (nearest: LoginFailed`,
    );
    expect(warned.stdout).toContain("1 rule(s) valid");
  }, 90_000);

  it("providers actions lists a provider's actions with category and outcomes", async () => {
    const result = await runCli(["providers", "actions", "pylon"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^action\s+category\s+outcomes/);
    expect(result.stdout).toMatch(/\nLoginFailed\s+authentication\s+failure\s+-\n/);
    const unknown = await runCli(["providers", "actions", "okta"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown provider "okta"');
  });

  it("test exits non-zero when a rule test fails", async () => {
    const failing = join(dir, "failing.yaml");
    writeFileSync(
      failing,
      "id: f\nname: F\nseverity: low\nwhen: true\ntests:\n  - name: expects too much\n    events: [{ id: e1, time: '2026-01-01T00:00:00Z' }]\n    expect: { alerts: 2 }\n",
    );
    const result = await runCli(["rules", "test", failing]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("FAIL  f › expects too much\n      expected 2 alert(s), got 1");
    expect(result.stdout).toContain("0 passed, 1 failed");
  });

  it("schema prints a JSON Schema that rejects unknown keys", async () => {
    const result = await runCli(["rules", "schema"]);
    const schema = JSON.parse(result.stdout);
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(["id", "name", "severity", "when"]));
  });

  it("a bad config file is reported with file, line and key", async () => {
    const config = join(dir, "bad.config.yaml");
    writeFileSync(config, "redis:\n  url: redis://127.0.0.1:6379\nsourcez: []\n");
    const result = await runCli(["--config", config, "rules", "validate", "rules"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`${config}:3:1: unknown key "sourcez"\n`);
  });
});
