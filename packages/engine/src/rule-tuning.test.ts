import { describe, expect, it } from "vitest";
import type { AuditEvent } from "@vigil/core";
import { compileRule } from "./engine.js";
import { parseRules } from "./rule-loader.js";

const located = (list: { file: string; line?: number; column?: number; message: string }[]) =>
  list.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);

const RULE = `id: z.deletions
name: Deletions
severity: high
when:
  and:
    - { "==": [{ var: provider }, zendesk] }
    - { macro: not-automation }
threshold: { count: 5, within: 5m, groupBy: [actor.id] }
---
macro: not-automation
when: { "!": { in: [{ var: actor.email }, { list: service-accounts }] } }
---
list: service-accounts
items: [bot@acme.example, sync@acme.example]
---
list: office
type: cidr
items: [10.0.0.0/8, 2001:db8::/32, 192.0.2.7]
`;

const event = (over: Partial<AuditEvent>): AuditEvent => ({
  id: "e",
  source: "s",
  provider: "zendesk",
  nativeId: "e",
  time: "2026-03-01T10:00:00Z",
  action: "destroy",
  category: "delete",
  outcome: "success",
  actor: {},
  target: {},
  attributes: {},
  raw: {},
  ...over,
});

describe("tuning: lists, macros, overrides and exceptions", () => {
  it("expands macros and lists where they are used, wherever they are defined", () => {
    const { rules, problems } = parseRules(RULE, "r.yaml");
    expect(problems).toEqual([]);
    const [rule] = rules;
    expect(rule!.condition.test(event({ actor: { email: "eve@acme.example" } }))).toBe(true);
    expect(rule!.condition.test(event({ actor: { email: "bot@acme.example" } }))).toBe(false);
  });

  it("matches addresses against CIDR lists with in_cidr", () => {
    const { rules, problems } = parseRules(
      `${RULE}---\nid: office\nname: O\nseverity: low\nwhen: { in_cidr: [{ var: ip }, { list: office }] }\n`,
      "r.yaml",
    );
    expect(problems).toEqual([]);
    const office = rules.find((r) => r.rule.id === "office")!;
    for (const [ip, inside] of [
      ["10.200.3.4", true],
      ["11.0.0.1", false],
      ["2001:db8:1::5", true],
      ["192.0.2.7", true],
      ["192.0.2.8", false],
      ["not an ip", false],
    ] as const)
      expect(office.condition.test(event({ ip })), ip).toBe(inside);
    expect(located(parseRules("list: bad\ntype: cidr\nitems: [10.0.0.0/33]\n", "l.yaml").problems)).toEqual([
      'l.yaml:3:9: list bad: items.0: "10.0.0.0/33" is not an address range such as 10.0.0.0/8 or 2001:db8::/32',
    ]);
  });

  it("an override changes severity and kind parameters, adds exceptions, and keeps the rule's state key", () => {
    const text = `${RULE}---
override: z.deletions
severity: low
threshold: { count: 20 }
exceptions:
  - { reason: "the nightly clean-up job", when: { "==": [{ var: actor.id }, "900"] }, expires: 2026-06-01 }
`;
    const base = parseRules(RULE, "r.yaml").rules[0]!;
    const { rules, problems } = parseRules(text, "r.yaml");
    expect(problems).toEqual([]);
    const [tuned] = rules;
    expect(tuned!.rule).toMatchObject({ severity: "low", threshold: { count: 20, within: 300_000 } });
    expect(tuned!.overrides).toEqual([{ file: "r.yaml", line: 20, column: 1 }]);
    const compiled = compileRule(tuned!);
    expect(compiled.test(event({ actor: { id: "900" } }))).toBe(false);
    // Exceptions expire in event time.
    expect(compiled.test(event({ actor: { id: "900" }, time: "2026-06-01T00:00:00Z" }))).toBe(true);
    expect(compiled.test(event({ actor: { id: "901" } }))).toBe(true);
    // What decides alerts changed (count): a different state key; an exception alone keeps it.
    const onlyException = parseRules(
      `${RULE}---\noverride: z.deletions\nexceptions: [{ reason: r, when: { "==": [{ var: actor.id }, "9"] } }]\n`,
      "r.yaml",
    ).rules[0]!;
    expect(compileRule(onlyException).stateKey).toBe(compileRule(base).stateKey);
  });

  it("unknown ids, fields, lists and macros are errors at file:line:col", () => {
    const text = `${RULE}---
override: z.deletion
severity: low
---
override: z.deletions
severty: low
---
override: z.deletions
sequence: { within: 5m }
---
override: z.deletions
exceptions: [{ when: { macro: nope } }]
---
id: uses-missing
name: U
severity: low
when: { in: [{ var: actor.email }, { list: admins }] }
`;
    expect(located(parseRules(text, "t.yaml").problems)).toEqual([
      't.yaml:35:38: rule uses-missing: when: unknown list "admins" (lists: service-accounts, office)',
      't.yaml:20:1: override: no rule "z.deletion" is loaded (did you mean z.deletions?)',
      't.yaml:24:1: override of z.deletions: unknown key "severty"',
      "t.yaml:27:1: override of z.deletions: sequence: the rule has no sequence (it is a threshold rule)",
      't.yaml:30:24: override of z.deletions: exceptions.0.when: unknown macro "nope" (macros: not-automation)',
      "t.yaml:30:14: rule z.deletions: exceptions.0.reason: is required (string)",
    ]);
  });
});
