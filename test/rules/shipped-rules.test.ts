import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules, ruleJsonSchema, runRuleTests } from "@vigil/engine";

import { useRedis } from "../helpers.js";

const RULES_DIR = join(import.meta.dirname, "../../rules");
const { redis } = useRedis();

describe("the rules shipped in rules/", () => {
  const rules = loadRules([RULES_DIR]);

  it("all load, one folder per provider, each with tests", () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const { rule, file } of rules) {
      expect(file).toContain(`/rules/${rule.id.split(".")[0]}/`);
      expect(rule.tests?.length, rule.id).toBeGreaterThan(0);
    }
  });

  it("pass their own tests through the real engine", async () => {
    const results = await runRuleTests(rules, { redis });
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(rules.length);
  }, 180_000);

  it("start with the yaml-language-server schema comment, and the schema file is current", () => {
    for (const folder of readdirSync(RULES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const file of readdirSync(join(RULES_DIR, folder.name))) {
        expect(readFileSync(join(RULES_DIR, folder.name, file), "utf8").split("\n")[0]).toBe(
          "# yaml-language-server: $schema=../../schema/rule.schema.json",
        );
      }
    }
    const committed = JSON.parse(readFileSync(join(RULES_DIR, "../schema/rule.schema.json"), "utf8"));
    expect(committed).toEqual(ruleJsonSchema());
  });

  it("a failing rule test is reported as failed", async () => {
    const [first] = rules;
    const broken = {
      ...first!,
      rule: { ...first!.rule, tests: [{ ...first!.rule.tests![0]!, expect: { alerts: 99 } }] },
    };
    const [result] = await runRuleTests([broken]);
    expect(result).toMatchObject({ passed: false, message: expect.stringContaining("expected 99 alert(s)") });
  });
});
