import { alertMatches, parseAlertMatcher, seededRandom } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { routeAlert, rulesReachingNoOne } from "./alert-routing.js";
import { makeAlert } from "./testing/alert.fixture.js";
import {
  NotifierConfigSchema as ConfigSchema,
  type NotifierConfigInput as ConfigInput,
} from "./testing/notifier-config.js";

const CHANNELS = ["all", "crit", "zendesk", "impact", "soc", "pager", "slack"];
const webhook = (name: string) => ({
  name,
  type: "webhook" as const,
  url: "https://hooks.example.com/x",
  secret: `whsec_${Buffer.alloc(24, 7).toString("base64")}`,
});

function config(routes: ConfigInput["routes"], extra: Partial<ConfigInput> = {}) {
  return ConfigSchema.parse({ channels: CHANNELS.map(webhook), routes, ...extra });
}
const channelsOf = (targets: ReturnType<typeof routeAlert>) => targets.map((target) => target.channels);

describe("routeAlert", () => {
  it("uses the rule's notify list when it has one, ignoring routes", () => {
    const alert = makeAlert({ notify: ["soc", "pager", "soc"] });
    expect(routeAlert(alert, config([{ channels: ["all"] }]))).toEqual([
      { route: "notify", channels: ["soc", "pager"] },
    ]);
  });

  it("gives the alert to the first sibling that matches, in config order", () => {
    const routes = config([
      { match: ["severity=critical"], channels: ["crit"] },
      { match: ["ruleId=zendesk.mass-user-deletion"], channels: ["zendesk"] },
      { channels: ["all"] },
    ]);
    expect(routeAlert(makeAlert({ severity: "high" }), routes)).toEqual([{ route: "routes.1", channels: ["zendesk"] }]);
    expect(channelsOf(routeAlert(makeAlert({ severity: "critical" }), routes))).toEqual([["crit"]]);
    expect(channelsOf(routeAlert(makeAlert({ ruleId: "other" }), routes))).toEqual([["all"]]);
  });

  it("goes on to the next siblings after a route that says continue", () => {
    const routes = config([
      { match: ["severity=~high|critical"], channels: ["pager"], continue: true },
      { match: ["tags=T1531"], channels: ["impact"], continue: true },
      { match: ["tags=nothing"], channels: ["crit"] },
      { channels: ["all"] },
      { channels: ["soc"] },
    ]);
    expect(channelsOf(routeAlert(makeAlert({ severity: "high" }), routes))).toEqual([["pager"], ["impact"], ["all"]]);
  });

  it("hands an alert to the matching child routes, or keeps it when none matches; children inherit channels and grouping", () => {
    const routes = config([
      {
        name: "security",
        match: ["tags=~attack\\..*"],
        channels: ["soc"],
        groupBy: ["ruleId"],
        groupWait: "10s",
        routes: [{ match: ["severity=critical"], channels: ["pager"], groupBy: [] }, { match: ["provider=zendesk"] }],
      },
    ]);
    expect(routeAlert(makeAlert({ severity: "critical" }), routes)).toEqual([
      {
        route: "security.routes.0",
        channels: ["pager"],
        grouping: { groupBy: [], groupWait: 10_000, groupInterval: 300_000 },
      },
    ]);
    expect(routeAlert(makeAlert({ severity: "high", provider: "zendesk" }), routes)).toEqual([
      {
        route: "security.routes.1",
        channels: ["soc"],
        grouping: { groupBy: ["ruleId"], groupWait: 10_000, groupInterval: 300_000 },
      },
    ]);
    expect(routeAlert(makeAlert({ severity: "high", provider: "pylon" }), routes)[0]?.route).toBe("security");
  });

  it("sends what no route takes to the default route, else nowhere", () => {
    const routes: ConfigInput["routes"] = [{ match: ["severity=critical"], channels: ["crit"] }];
    const alert = makeAlert({ severity: "low" });
    expect(routeAlert(alert, config(routes))).toEqual([]);
    expect(routeAlert(alert, config(routes, { defaultRoute: { channels: ["all"], groupBy: ["severity"] } }))).toEqual([
      {
        route: "defaultRoute",
        channels: ["all"],
        grouping: { groupBy: ["severity"], groupWait: 30_000, groupInterval: 300_000 },
      },
    ]);
  });

  it("still reads the first routes' match object: every given list must overlap the alert's", () => {
    const routes = config([
      { match: { severity: ["high"], ruleIds: ["other.rule"] }, channels: ["crit"] },
      { match: { severity: ["low", "high"], tags: ["x", "T1531"] }, channels: ["impact"] },
    ]);
    expect(channelsOf(routeAlert(makeAlert({ severity: "high" }), routes))).toEqual([["impact"]]);
    expect(routeAlert(makeAlert({ severity: "medium" }), routes)).toEqual([]);
  });

  it("agrees with a reference over random flat route lists and alerts", () => {
    const random = seededRandom(18);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const matcherTexts = [
      "severity=high",
      "severity!=low",
      "severity=~high|critical",
      "severity!~(low|medium)",
      "ruleId=~a\\..*",
      "ruleId=b.rule",
      "tags=x",
      "tags!=y",
      "provider=zendesk",
      "actor.id=u-1",
      "actor.id!~u-[0-4]",
    ];
    for (let round = 0; round < 300; round++) {
      const flat = Array.from({ length: 1 + Math.floor(random() * 5) }, () => ({
        match: Array.from({ length: Math.floor(random() * 3) }, () => pick(matcherTexts)),
        channels: [pick(CHANNELS)],
        continue: random() < 0.5,
      }));
      const alert = makeAlert({
        severity: pick(["low", "medium", "high", "critical"] as const),
        ruleId: pick(["a.one", "a.two", "b.rule"]),
        tags: ["x", "y", "z"].filter(() => random() < 0.5),
        provider: pick(["zendesk", "pylon"]),
        groupKey: random() < 0.8 ? { "actor.id": `u-${Math.floor(random() * 8)}` } : {},
      });
      // The definition: walk the list; every route whose matchers all hold takes the alert; stop at one without continue.
      const expected: string[][] = [];
      for (const route of flat) {
        if (!alertMatches(route.match.map(parseAlertMatcher), alert)) continue;
        expected.push(route.channels);
        if (!route.continue) break;
      }
      expect(channelsOf(routeAlert(alert, config(flat)))).toEqual(expected);
    }
  });
});

describe("matchers", () => {
  const holds = (text: string, overrides: Parameters<typeof makeAlert>[0] = {}) =>
    alertMatches([parseAlertMatcher(text)], { ...makeAlert(overrides) });

  it("compare whole values: equality, regex (anchored), and their negations", () => {
    expect(holds("ruleId=zendesk.mass-user-deletion")).toBe(true);
    expect(holds("ruleId=zendesk")).toBe(false);
    expect(holds("ruleId=~zendesk")).toBe(false);
    expect(holds("ruleId=~zendesk\\..*")).toBe(true);
    expect(holds("ruleId!=zendesk.mass-user-deletion")).toBe(false);
    expect(holds("ruleId!~pylon\\..*")).toBe(true);
  });

  it("read tags as a list, group values by their path, and a missing field as empty", () => {
    expect(holds("tags=T1531")).toBe(true);
    expect(holds("tags!=T1531")).toBe(false);
    expect(holds("actor.id=u-42")).toBe(true);
    expect(holds("actor.email=")).toBe(true);
    expect(holds("provider=zendesk")).toBe(true);
    expect(holds("provider!=zendesk")).toBe(false);
    expect(holds("provider!=zendesk", { provider: undefined })).toBe(true);
    expect(holds("provider=", { provider: undefined })).toBe(true);
  });

  it("run regexes in linear time (RE2): a pattern that backtracks exponentially elsewhere answers at once", () => {
    expect(holds("title=~(a+)+$", { title: `${"a".repeat(5_000)}!` })).toBe(false);
  });

  it("are refused in config with the route and matcher they are in", () => {
    const parsed = ConfigSchema.safeParse({
      channels: [webhook("all")],
      routes: [
        { match: ["severity=high", "ruleId=~(a"], channels: ["all"] },
        { match: ["no operator"], channels: ["all"] },
      ],
    });
    expect(parsed.success).toBe(false);
    const problems = parsed.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) ?? [];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routes\.0\.match\.1: "ruleId=~\(a": invalid regex/),
        expect.stringMatching(/^routes\.1\.match\.0: "no operator" is not a matcher/),
      ]),
    );
  });
});

describe("rulesReachingNoOne", () => {
  const rule = (
    ruleId: string,
    severity: "low" | "high" | "critical",
    extra: { notify?: string[]; tags?: string[] } = {},
  ) => ({
    ruleId,
    ruleName: ruleId,
    severity,
    tags: extra.tags ?? [],
    notify: extra.notify,
  });

  it("names rules no route can take, when there is no default route", () => {
    const routes = config([
      { match: ["severity=critical"], channels: ["pager"] },
      { match: ["tags=attack.impact", "provider=zendesk"], channels: ["soc"] },
    ]);
    const rules = [
      rule("crit", "critical"),
      rule("low", "low"),
      rule("impact", "low", { tags: ["attack.impact"] }),
      rule("own-list", "low", { notify: ["soc"] }),
    ];
    expect(rulesReachingNoOne(rules, routes)).toEqual(["low"]);
    expect(rulesReachingNoOne(rules, config([], { defaultRoute: { channels: ["all"] } }))).toEqual([]);
  });
});
