import { describe, expect, it } from "vitest";
import { parseRules } from "./rule-loader.js";
import { compileRegex, REGEX_INPUT_CHARS } from "./regex.js";

function regex(pattern: string) {
  const compiled = compileRegex(pattern);
  if ("error" in compiled) throw new Error(compiled.error);
  return compiled;
}

function problems(when: string): string[] {
  return parseRules(`id: r\nname: R\nseverity: low\nwhen:\n  ${when}\n`, "rules.yaml").problems.map(
    (p) => `${p.file}:${p.line}:${p.column}: ${p.message}`,
  );
}

describe("matches runs on RE2", () => {
  it("answers the catastrophic-backtracking pattern on a 64 Ki-character name (no match: the name ends in '!')", () => {
    const pattern = regex("^([A-Za-z]+ ?)+$");
    expect(pattern.test(`${"a".repeat(65_536)}!`)).toBe(false);
    expect(pattern.test("Mallory Vance")).toBe(true);
  });

  it("matches case-insensitively with (?i), and searches anywhere unless anchored", () => {
    expect(regex("(?i)^admin@").test("ADMIN@acme.example")).toBe(true);
    expect(regex("^admin@").test("ADMIN@acme.example")).toBe(false);
    expect(regex("evil\\.com").test("x@evil.com.example")).toBe(true);
  });

  it(`reads only the first ${REGEX_INPUT_CHARS} characters of its input`, () => {
    const tail = regex("!$");
    expect(tail.test(`${"a".repeat(REGEX_INPUT_CHARS - 1)}!`)).toBe(true);
    expect(tail.test(`${"a".repeat(REGEX_INPUT_CHARS)}!`)).toBe(false);
  });

  it("refuses at load, at file:line:col, a pattern RE2 cannot run and a pattern that is not a constant string", () => {
    expect(problems('matches: [{ var: actor.name }, "(a)\\\\1"]')).toEqual([
      expect.stringMatching(
        /^rules\.yaml:5:34: rule r: when: invalid regular expression "\(a\)\\\\1" \(RE2 syntax\): .*invalid escape sequence/,
      ),
    ]);
    expect(problems("matches: [{ var: actor.name }, { var: attributes.pattern }]")).toEqual([
      "rules.yaml:5:34: rule r: when: the pattern of matches must be a constant string (not a var or an operation: it is compiled once, at load)",
    ]);
    expect(problems('matches: [{ var: actor.name }, "a", "i"]')).toEqual([
      "rules.yaml:5:3: rule r: when: matches takes two arguments: [text, pattern]",
    ]);
    expect(problems('matches: [{ var: actor.name }, "(?i)^a[0-9]+$"]')).toEqual([]);
  });

  it("evaluates a loaded rule's pattern on hostile input without backtracking", () => {
    const { rules } = parseRules(
      'id: r\nname: R\nseverity: low\nwhen: { matches: [{ var: actor.name }, "^([A-Za-z]+ ?)+$"] }\n',
      "rules.yaml",
    );
    expect(rules[0]!.condition.test({ actor: { name: `${"a".repeat(65_536)}!` } })).toBe(false);
    expect(rules[0]!.condition.test({ actor: { name: "Mallory Vance" } })).toBe(true);
  });
});
