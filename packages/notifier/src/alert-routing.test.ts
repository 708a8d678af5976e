import {
  NotifierConfigSchema as ConfigSchema,
  type NotifierConfigInput as ConfigInput,
} from "./testing/notifier-config.js";
import { describe, expect, it } from "vitest";
import { routeAlert } from "./alert-routing.js";
import { makeAlert } from "./testing/alert.fixture.js";

const webhook = (name: string) => ({
  name,
  type: "webhook" as const,
  url: "https://hooks.example.com/x",
  secret: `whsec_${Buffer.alloc(24, 7).toString("base64")}`,
});

function config(routes: ConfigInput["routes"]) {
  return ConfigSchema.parse({ channels: ["all", "crit", "zendesk", "impact", "soc", "pager"].map(webhook), routes });
}

describe("routeAlert", () => {
  it("uses the rule's notify list when it has one, ignoring routes", () => {
    const alert = makeAlert({ notify: ["soc", "pager", "soc"] });
    expect(routeAlert(alert, config([{ channels: ["all"] }]))).toEqual(["soc", "pager"]);
  });

  it("falls back to routes when notify is empty", () => {
    const alert = makeAlert({ notify: [] });
    expect(routeAlert(alert, config([{ channels: ["all"] }]))).toEqual(["all"]);
  });

  it("unions the channels of every matching route, deduplicated, in config order", () => {
    const routes = config([
      { match: { severity: ["critical"] }, channels: ["crit"] },
      { match: { ruleIds: ["zendesk.mass-user-deletion"] }, channels: ["zendesk", "soc"] },
      { match: { tags: ["persistence", "attack.impact"] }, channels: ["impact", "zendesk"] },
      { channels: ["all", "soc"] },
    ]);
    expect(routeAlert(makeAlert({ severity: "high" }), routes)).toEqual(["zendesk", "soc", "impact", "all"]);
  });

  it("requires every criterion of a route to hold", () => {
    const routes = config([{ match: { severity: ["high"], ruleIds: ["other.rule"] }, channels: ["crit"] }]);
    expect(routeAlert(makeAlert({ severity: "high" }), routes)).toEqual([]);
    const both = config([
      { match: { severity: ["high"], ruleIds: ["zendesk.mass-user-deletion"], tags: ["T1531"] }, channels: ["crit"] },
    ]);
    expect(routeAlert(makeAlert({ severity: "high" }), both)).toEqual(["crit"]);
  });

  it("matches by severity, rule id and shared tag independently", () => {
    const routes = config([
      { match: { severity: ["low", "medium"] }, channels: ["all"] },
      { match: { ruleIds: ["a.rule"] }, channels: ["zendesk"] },
      { match: { tags: ["x"] }, channels: ["impact"] },
    ]);
    expect(routeAlert(makeAlert({ severity: "medium", ruleId: "b.rule", tags: [] }), routes)).toEqual(["all"]);
    expect(routeAlert(makeAlert({ severity: "critical", ruleId: "a.rule", tags: [] }), routes)).toEqual(["zendesk"]);
    expect(routeAlert(makeAlert({ severity: "critical", ruleId: "b.rule", tags: ["y", "x"] }), routes)).toEqual([
      "impact",
    ]);
  });

  it("returns no channel when nothing matches", () => {
    expect(routeAlert(makeAlert(), config([]))).toEqual([]);
    expect(
      routeAlert(makeAlert({ severity: "low" }), config([{ match: { severity: ["critical"] }, channels: ["crit"] }])),
    ).toEqual([]);
  });
});
