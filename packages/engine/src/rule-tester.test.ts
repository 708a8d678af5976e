import { describe, expect, it } from "vitest";
import type { Alert } from "@vigil/core";
import { checkRuleTest } from "./rule-tester.js";

const alert = (groupKey: Record<string, unknown>, title: string) => ({ groupKey, title }) as Alert;

describe("rule test expectations", () => {
  const alerts = [alert({ "actor.email": "eve" }, "eve did it"), alert({ "actor.email": "bob" }, "bob did it")];

  it("pass when counts, titles and groups agree", () => {
    expect(
      checkRuleTest(
        {
          alerts: 2,
          groups: [
            { group: { "actor.email": "eve" }, alerts: 1, titles: ["eve did it"] },
            { group: { "actor.email": "bob" }, alerts: 1 },
          ],
        },
        alerts,
      ),
    ).toEqual([]);
  });

  it("name the group that differs, and alerts of groups not listed", () => {
    expect(checkRuleTest({ alerts: 2, groups: [{ group: { "actor.email": "eve" }, alerts: 2 }] }, alerts)).toEqual([
      'group {"actor.email":"eve"}: expected 2 alert(s), got 1',
      'unexpected alert for group {"actor.email":"bob"}: "bob did it"',
    ]);
    expect(
      checkRuleTest(
        {
          alerts: 1,
          groups: [
            { group: { "actor.email": "eve" }, alerts: 1, titles: ["other"] },
            { group: { "actor.email": "bob" }, alerts: 1 },
          ],
        },
        alerts,
      ),
    ).toEqual([
      "expected 1 alert(s), got 2",
      'group {"actor.email":"eve"}: expected titles ["other"], got ["eve did it"]',
    ]);
  });
});
