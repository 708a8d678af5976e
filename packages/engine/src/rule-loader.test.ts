import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RuleError } from "@vigil/core";
import { loadRules, parseRules } from "./rule-loader.js";

const GOOD = `id: a.rule
name: A rule
severity: high
when: { "==": [{ var: action }, destroy] }
threshold: { count: 10, within: 5m, groupBy: actor.id }
`;

function problems(text: string, file = "rules.yaml"): string[] {
  return parseRules(text, file).problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
}

describe("rule loading", () => {
  it("loads several YAML documents per file with defaults and normalized groupBy", () => {
    const { rules, problems } = parseRules(`${GOOD}---\nid: b.rule\nname: B\nseverity: low\nwhen: true\n`, "r.yaml");
    expect(problems).toEqual([]);
    expect(rules.map((r) => r.rule.id)).toEqual(["a.rule", "b.rule"]);
    expect(rules[0]!.rule.threshold).toEqual({ count: 10, within: 300_000, groupBy: ["actor.id"] });
    expect(rules[0]!.rule.tags).toEqual([]);
    expect(rules[1]!.line).toBe(7);
  });

  it("loads JSON rules", () => {
    const { rules } = parseRules(
      JSON.stringify({ id: "j", name: "J", severity: "low", when: { "!!": [{ var: "ip" }] } }),
      "r.json",
    );
    expect(rules[0]!.condition.test({ ip: "1.2.3.4" })).toBe(true);
    expect(rules[0]!.condition.test({})).toBe(false);
  });

  it("rejects unknown JsonLogic operators at their position, naming the rule", () => {
    expect(problems("id: x\nname: X\nseverity: low\nwhen:\n  and:\n    - { equals: [1, 1] }\n")).toEqual([
      'rules.yaml:6:9: rule x: when: unknown JsonLogic operator "equals"',
    ]);
  });

  it("rejects bad durations, unknown fields, bad severities and bad templates", () => {
    expect(
      problems(
        [
          "id: bad",
          "name: Bad",
          "severity: urgent",
          "when: true",
          "threshold: { count: 3, within: 5 minutes, groupBy: [actor.id] }",
          "titel: typo",
          "title: '{{#open'",
        ].join("\n"),
      ),
    ).toEqual([
      expect.stringMatching(/^rules\.yaml:3:11: rule bad: severity: /),
      expect.stringMatching(/^rules\.yaml:5:32: rule bad: threshold\.within: a duration such as 30s/),
      'rules.yaml:6:1: rule bad: unknown key "titel"',
      expect.stringMatching(/^rules\.yaml:7:1: rule bad: title: bad template: /),
    ]);
  });

  it("reports missing required fields and suppress without a threshold", () => {
    expect(problems("id: m\nseverity: low\nwhen: true\nsuppress: 1h\n")).toEqual([
      "rules.yaml:1:1: rule m: name: is required (string)",
      expect.stringMatching(/^rules\.yaml:4:11: rule m: suppress: suppress applies only to stateful rules \(threshold/),
    ]);
  });

  it("reports YAML syntax errors with a position", () => {
    expect(problems("id: s\nwhen: { and: [\n")[0]).toMatch(/^rules\.yaml:\d+:\d+: syntax error/);
  });

  it("loads folders recursively and rejects duplicate ids across files", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-rules-"));
    mkdirSync(join(dir, "zendesk"));
    writeFileSync(join(dir, "a.yaml"), GOOD);
    writeFileSync(join(dir, "zendesk", "b.yml"), `# comment\n${GOOD}`);
    writeFileSync(join(dir, "notes.txt"), "not a rule");
    let error: unknown;
    try {
      loadRules([dir]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RuleError);
    const [problem] = (error as RuleError).problems;
    expect(problem).toMatchObject({ file: join(dir, "zendesk", "b.yml"), line: 2, column: 5, ruleId: "a.rule" });
    expect(problem!.message).toBe(`rule a.rule: duplicate rule id (first defined at ${join(dir, "a.yaml")}:1:5)`);
  });

  it("names a missing path", () => {
    expect(() => loadRules(["/nonexistent/rules"])).toThrow("/nonexistent/rules: cannot read: ENOENT");
  });

  it("evaluates Vigil's extra operators", () => {
    const { rules } = parseRules(
      `id: ops\nname: Ops\nseverity: low\nwhen:\n  and:\n    - starts_with: [{ var: action }, API]\n    - matches: [{ var: actor.email }, "@evil\\\\.com$"]\n    - "==": [{ lower: [{ var: outcome }] }, failure]\n`,
      "ops.yaml",
    );
    expect(
      rules[0]!.condition.test({ action: "APITokenCreated", actor: { email: "x@evil.com" }, outcome: "FAILURE" }),
    ).toBe(true);
    expect(
      rules[0]!.condition.test({ action: "APITokenCreated", actor: { email: "x@good.com" }, outcome: "failure" }),
    ).toBe(false);
  });
});
