import { describe, expect, it } from "vitest";
import type { ActionVocabulary } from "@vigil/core";
import { parseRules } from "./rule-loader.js";
import { eventFieldNames, nearest, templateNames, varReferences } from "./rule-fields.js";

const located = (list: { file: string; line?: number; column?: number; message: string }[]) =>
  list.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);

const rule = (lines: string[]) => ["id: r", "name: R", "severity: low", ...lines].join("\n");

describe("field names of a rule", () => {
  it("come from the AuditEvent schema: its fields, and free-form attributes and raw", () => {
    const { paths, freeForm } = eventFieldNames();
    expect(paths).toEqual(expect.arrayContaining(["action", "actor.email", "target.type", "ip"]));
    expect(freeForm).toEqual(["attributes", "raw"]);
  });

  it("a typo in a condition, distinct or title is an error at its position with the nearest name", () => {
    const text = rule([
      "when:",
      "  and:",
      "    - { '==': [{ var: target.typ }, user] }",
      "    - { '==': [{ var: attributes.anything.below }, x] }",
      "threshold: { count: 3, within: 5m, groupBy: [actor.id], distinct: target.idd }",
      "title: '{{actr.name}} deleted {{count}} users ({{group.actor.id}})'",
    ]);
    expect(located(parseRules(text, "r.yaml").problems)).toEqual([
      'r.yaml:6:18: rule r: when: unknown field "target.typ" (did you mean target.type?)',
      'r.yaml:8:57: rule r: threshold.distinct: unknown field "target.idd" (did you mean target.id?)',
      'r.yaml:9:1: rule r: title: {{actr.name}}: unknown field "actr.name" (did you mean actor.name?)',
    ]);
  });

  it("checks groupBy, newValue fields and sequence steps, and accepts each kind's own title fields", () => {
    const text = rule([
      "when: true",
      "newValue: { groupBy: actor.emial, fields: [ipp], learning: 0, forgetAfter: 30d }",
      "title: '{{actor.email}} {{value.ip}} {{lastSeen}} {{rule.name}} {{#event}}{{whatever}}{{/event}}'",
    ]);
    expect(located(parseRules(text, "n.yaml").problems)).toEqual([
      'n.yaml:5:13: rule r: newValue.groupBy: unknown field "actor.emial" (did you mean actor.email?)',
      'n.yaml:5:44: rule r: newValue.fields.0: unknown field "ipp" (did you mean ip?)',
    ]);
    const sequence = rule([
      "when: true",
      "sequence:",
      "  groupBy: [actor.email]",
      "  within: 30m",
      "  steps:",
      "    - { name: a, when: { '==': [{ var: acton }, x] } }",
      "    - { name: b, when: true }",
      "title: '{{steps.a.count}} then {{deadline}}'",
    ]);
    expect(located(parseRules(sequence, "s.yaml").problems)).toEqual([
      's.yaml:9:35: rule r: sequence.steps.0.when: unknown field "acton" (did you mean action?)',
      's.yaml:11:1: rule r: title: {{deadline}}: unknown field "deadline" (a field of the event, or a path under attributes., raw., event., group., steps.)',
    ]);
  });

  it("skips the element scope of map, filter, all, some and none", () => {
    expect(
      varReferences({ some: [{ var: "attributes.roles" }, { "==": [{ var: "name" }, "admin"] }] }).map((r) => r.name),
    ).toEqual(["attributes.roles"]);
    expect(templateNames("{{a}} {{#b}}{{c}}{{/b}} {{{d}}}")).toEqual(["a", "b", "d"]);
    expect(nearest("target.typ", ["target.type", "target.id", "actor.type"])).toEqual(["target.type"]);
    expect(nearest("zzzzzz", ["target.type"])).toEqual([]);
  });

  it("warns of an action, category or outcome the pinned provider never records, naming the nearest", () => {
    const vocabularies: Record<string, ActionVocabulary> = {
      pylon: [
        { action: "LoginFailed", category: "authentication", outcomes: ["failure"] },
        { action: "LoginSucceeded", category: "authentication", outcomes: ["success"] },
      ],
      zendesk: [{ action: "destroy", category: "delete", outcomes: ["success"] }],
    };
    const text = rule([
      "when:",
      "  and:",
      "    - { '==': [{ var: provider }, pylon] }",
      "    - { in: [{ var: action }, [LoginFailed, LoginFaild]] }",
      "    - { '==': [{ var: category }, authentication] }",
      "    - { '==': [{ var: outcome }, failed] }",
    ]);
    const result = parseRules(text, "v.yaml", { vocabularies });
    expect(result.problems).toEqual([]);
    expect(located(result.warnings)).toEqual([
      expect.stringMatching(
        /^v\.yaml:7:45: rule r: when: no action "LoginFaild" among those pylon records \(nearest: LoginFailed\)/,
      ),
      expect.stringMatching(
        /^v\.yaml:9:34: rule r: when: no outcome "failed" among those pylon records \(nearest: failure\)/,
      ),
    ]);
    // Without a pinned provider, actions are not checked; categories against the event model's.
    const loose = rule([
      "when: { and: [{ '==': [{ var: action }, Anything] }, { '==': [{ var: category }, exports] }] }",
    ]);
    expect(located(parseRules(loose, "l.yaml", { vocabularies }).warnings)).toEqual([
      expect.stringMatching(
        /^l\.yaml:4:\d+: rule r: when: no category "exports" among those events have \(nearest: export\)/,
      ),
    ]);
  });

  it("warns of an ATT&CK tag that names no tactic or technique of the pinned ATT&CK release, or a retired one", () => {
    const text = rule([
      "when: { '==': [{ var: action }, x] }",
      "tags: [attack.persistance, T1098.001, T1098.999, T1108, pii]",
    ]);
    const result = parseRules(text, "t.yaml");
    expect(result.problems).toEqual([]);
    expect(located(result.warnings)).toEqual([
      expect.stringMatching(
        /^t\.yaml:5:\d+: rule r: attack\.persistance is not an ATT&CK Enterprise tactic \(did you mean attack\.persistence\?\)$/,
      ),
      expect.stringMatching(/^t\.yaml:5:\d+: rule r: T1098\.999 is no technique of ATT&CK Enterprise \d+\.\d+$/),
      expect.stringMatching(/^t\.yaml:5:\d+: rule r: T1108 is deprecated in ATT&CK Enterprise \d+\.\d+$/),
    ]);
  });
});
