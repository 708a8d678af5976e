import { describe, expect, it } from "vitest";
import { fieldClauses, residualCondition, RuleIndex } from "./rule-index.js";

const eq = (field: string, value: unknown) => ({ "==": [{ var: field }, value] });

describe("rule index", () => {
  it("leaves to test what it has not tested itself: the clauses after the field clauses it keys on", () => {
    const provider = { "==": [{ var: "provider" }, "pylon"] };
    const action = { in: [{ var: "action" }, ["a", "b"]] };
    const rest = { ">": [{ var: "count" }, 1] };
    expect(residualCondition({ and: [provider, action, rest] })).toEqual(rest);
    // A clause reading any other field may throw on odd data: the index stops there.
    expect(residualCondition({ and: [provider, { and: [rest, action] }] })).toEqual({ and: [rest, action] });
    expect(residualCondition(provider)).toBe(true);
    // After a clause that may throw, the index stops: what follows is left to the condition.
    const mayThrow = { "*": [{ var: "count" }, 2] };
    expect(residualCondition({ and: [provider, mayThrow, action] })).toEqual({ and: [mayThrow, action] });
    expect(residualCondition({ or: [provider, action] })).toEqual({ or: [provider, action] });
  });

  it("derives the clauses on indexed fields, in order, up to the first clause that reads anything else", () => {
    const when = {
      and: [
        eq("provider", "zendesk"),
        { and: [{ in: [{ var: "action" }, ["a", "b"]] }] },
        eq("actor.id", "1"),
        eq("outcome", "failure"),
      ],
    };
    expect(fieldClauses(when).map((c) => c.field)).toEqual(["provider", "action"]);
    expect(fieldClauses(eq("category", "export")).map((c) => c.field)).toEqual(["category"]);
    expect(fieldClauses({ or: [eq("provider", "a"), eq("action", "b")] })).toEqual([]);
    expect(fieldClauses(true)).toEqual([]);
    expect(fieldClauses({ "==": [{ var: "provider.x" }, "a"] })).toEqual([]);
    // var with a default reading another field, and missing, are not functions of one field.
    expect(fieldClauses({ "==": [{ var: ["provider", { var: "action" }] }, "a"] })).toEqual([]);
    expect(fieldClauses({ and: [{ missing: ["provider"] }, eq("action", "b")] })).toEqual([]);
  });

  it("tests a clause exactly as the condition would on that field's value", () => {
    const [clause] = fieldClauses({ and: [{ "==": [{ var: "outcome" }, 1] }] });
    expect(clause!.test("1")).toBe(true); // loose equality, as json-logic-js
    const [startsWith] = fieldClauses({ starts_with: [{ var: "action" }, "Login"] });
    expect([startsWith!.test("LoginFailed"), startsWith!.test("Logout")]).toEqual([true, false]);
  });

  it("returns the candidate conditions in order, every condition for events it cannot key", () => {
    const index = new RuleIndex(
      [eq("provider", "a"), true, { and: [eq("provider", "b"), eq("action", "x")] }, eq("action", "x")].map((when) => ({
        when,
      })),
    );
    expect(index.candidates({ provider: "a", action: "y" })).toEqual([0, 1]);
    expect(index.candidates({ provider: "b", action: "x" })).toEqual([1, 2, 3]);
    expect(index.candidates({ provider: "c", action: "x" })).toEqual([1, 3]);
    expect(index.candidates({ provider: 5, action: "x" })).toEqual([0, 1, 2, 3]);
    expect(index.candidates({ action: "x" })).toEqual([0, 1, 2, 3]);
  });

  it("keeps a rule with steps when its when and at least one step can hold", () => {
    const index = new RuleIndex([
      { when: eq("provider", "a"), anyOf: [eq("action", "x"), eq("action", "y")] },
      { when: true, anyOf: [eq("action", "z"), true] },
    ]);
    expect(index.candidates({ provider: "a", action: "y" })).toEqual([0, 1]);
    expect(index.candidates({ provider: "a", action: "q" })).toEqual([1]);
    expect(index.candidates({ provider: "b", action: "x" })).toEqual([1]);
  });

  it("stays correct when its memory of combinations is cleared", () => {
    const index = new RuleIndex([{ when: eq("provider", "a") }, { when: eq("provider", "b") }], 2);
    for (let round = 0; round < 3; round++) {
      for (const provider of ["a", "b", "c"]) {
        expect(index.candidates({ provider })).toEqual(provider === "a" ? [0] : provider === "b" ? [1] : []);
      }
    }
  });
});
