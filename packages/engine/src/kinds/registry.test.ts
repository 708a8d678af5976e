import { describe, expect, it } from "vitest";
import { RuleSchema } from "../rule-schema.js";
import { RULE_KIND_NAMES, RULE_KINDS, STATEFUL_KIND_NAMES } from "./registry.js";

describe("the kind registry", () => {
  it("names each kind by its key, and every kind but match by a rule field of its schema", () => {
    for (const name of RULE_KIND_NAMES) expect(RULE_KINDS[name].name).toBe(name);
    expect(STATEFUL_KIND_NAMES).toEqual(RULE_KIND_NAMES.filter((name) => name !== "match"));
    const fields = Object.keys(RuleSchema.shape ?? {});
    for (const name of STATEFUL_KIND_NAMES) expect(fields).toContain(name);
  });
});
