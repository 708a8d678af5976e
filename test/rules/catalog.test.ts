import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ATTACK_TECHNIQUES,
  attackCoverage,
  attackTags,
  loadRules,
  ruleCatalogMarkdown,
  RULE_KINDS,
} from "@vigil/engine";
import { runCli } from "../cli.js";

const ROOT = join(import.meta.dirname, "../..");
const rules = loadRules([join(ROOT, "rules")]);

describe("the rule catalog", () => {
  it("links a rule's name to its runbook, when it has one", () => {
    const [first, second] = rules;
    const catalog = ruleCatalogMarkdown([
      { ...first!, rule: { ...first!.rule, runbook: "https://wiki.example.com/runbooks/x" } },
      second!,
    ]);
    expect(catalog).toContain(`| \`${first!.rule.id}\` | [${first!.rule.name}](https://wiki.example.com/runbooks/x) |`);
    expect(catalog).toContain(`| \`${second!.rule.id}\` | ${second!.rule.name} |`);
  });
});

describe("the shipped rule pack", () => {
  it("has at least 40 rules, at least 5 per provider, and uses every kind", () => {
    expect(rules.length).toBeGreaterThanOrEqual(40);
    const perProvider = new Map<string, number>();
    for (const { rule } of rules)
      perProvider.set(rule.id.split(".")[0]!, (perProvider.get(rule.id.split(".")[0]!) ?? 0) + 1);
    for (const provider of ["pylon", "zendesk", "ashby", "logfire", "bloodhound"])
      expect(perProvider.get(provider), provider).toBeGreaterThanOrEqual(5);
    const kinds = new Set(rules.map(({ rule }) => Object.keys(RULE_KINDS).find((k) => k in rule) ?? "match"));
    expect([...kinds].sort()).toEqual(Object.keys(RULE_KINDS).sort());
  });

  it("every rule has a description, known false positives, ATT&CK tags that exist and agree, and tests with an alert and a near miss", () => {
    for (const { rule } of rules) {
      expect(rule.description, rule.id).toMatch(/\S/);
      expect(rule.falsePositives?.length, rule.id).toBeGreaterThan(0);
      expect(rule.title, rule.id).toMatch(/\S/);
      const tags = attackTags(rule.tags);
      expect(tags.unknown, rule.id).toEqual([]);
      expect(tags.techniques.length, rule.id).toBeGreaterThan(0);
      // Each tactic tagged is one of its techniques' tactics, and each technique is filed under a tactic tagged.
      for (const tactic of tags.tactics)
        expect(
          tags.techniques.some((id) => (ATTACK_TECHNIQUES[id]!.tactics as readonly string[]).includes(tactic)),
          `${rule.id} ${tactic}`,
        ).toBe(true);
      for (const id of tags.techniques)
        expect(
          ATTACK_TECHNIQUES[id]!.tactics.some((t) => tags.tactics.includes(t)),
          `${rule.id} ${id}`,
        ).toBe(true);
      const tests = rule.tests ?? [];
      expect(
        tests.some((t) => t.expect.alerts > 0),
        `${rule.id} alerts`,
      ).toBe(true);
      expect(
        tests.some((t) => t.expect.alerts === 0),
        `${rule.id} near miss`,
      ).toBe(true);
    }
  });

  it("the committed catalog docs/rules.md is current, and vigil rules docs prints it", async () => {
    const committed = readFileSync(join(ROOT, "docs/rules.md"), "utf8");
    expect(committed).toBe(ruleCatalogMarkdown(rules));
    for (const { rule } of rules) expect(committed).toContain(`| \`${rule.id}\` | ${rule.name} | ${rule.severity} |`);
    const result = await runCli(["rules", "docs", "rules"]);
    expect(result.stdout).toBe(committed);
  }, 60_000);

  it("vigil rules coverage prints tactics, techniques and their rules, and names rules without tests", async () => {
    const coverage = attackCoverage(rules);
    expect(coverage.untested).toEqual([]);
    const result = await runCli(["rules", "coverage", "rules"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Initial Access: \d+ technique\(s\)\n/m);
    expect(result.stdout).toContain("  T1110.003 Brute Force: Password Spraying: bloodhound.password-spray");
    expect(result.stdout).toMatch(/\nCommand and Control: not covered\n/);
    expect(result.stdout).toContain("every rule has tests");
    const untested = attackCoverage([{ ...rules[0]!, rule: { ...rules[0]!.rule, tests: [] } }]);
    expect(untested.untested).toEqual([rules[0]!.rule.id]);
    // Tags ATT&CK does not have, or has retired, are named with the reason.
    const ruleId = rules[0]!.rule.id;
    const tagged = attackCoverage([
      { ...rules[0]!, rule: { ...rules[0]!.rule, tags: ["attack.persistance", "T1108", "T1098"] } },
    ]);
    expect(tagged.unknownTags).toEqual([
      { ruleId, tag: "attack.persistance", problem: expect.stringContaining("(did you mean attack.persistence?)") },
      { ruleId, tag: "T1108", problem: "T1108 is deprecated in ATT&CK Enterprise 18.1" },
    ]);
  }, 60_000);
});
