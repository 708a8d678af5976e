import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRedis, MAX_ALERT_EVENT_IDS } from "@vigil/core";
import { Engine, ipGeoFromConfig, loadRules, MemoryRuleStateStore } from "@vigil/engine";
import { VigilConfigSchema } from "@vigil/cli";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, runCli } from "../cli.js";
import { event, REDIS_URL } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "vigil-replay-"));
const rules = join(dir, "rules.yaml");
writeFileSync(
  rules,
  `id: burst\nname: Burst\nseverity: high\nwhen: { "==": [{ var: action }, destroy] }\nthreshold: { count: 3, within: 5m, groupBy: [actor.id] }\ntitle: "{{actor.id}}: {{count}}"\n---\nid: token\nname: Token\nseverity: low\nwhen: { "==": [{ var: action }, token] }\n`,
);
const line = (id: string, minute: number, action = "destroy", actor = "a") =>
  JSON.stringify({ id, time: new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString(), action, actor: { id: actor } });

describe("vigil replay", () => {
  it("prints each alert as one JSON line, in file order, and deletes its namespace", async () => {
    const events = join(dir, "events.jsonl");
    writeFileSync(
      events,
      [
        line("1", 0),
        line("2", 1),
        line("t", 1, "token"),
        line("3", 2),
        line("4", 3),
        "",
        line("5", 20),
        line("6", 21),
        line("7", 22),
      ].join("\n"),
    );
    // A database of its own: other tests' replays run at the same time and come and go in database 0.
    const ownDatabase = new URL(REDIS_URL);
    ownDatabase.pathname = "/11";
    const config = join(dir, "own-database.yaml");
    writeFileSync(config, `redis: { url: "${ownDatabase.href}" }\n`);
    const redis = createRedis(ownDatabase.href);
    await redis.flushdb();
    const result = await runCli(["replay", "--config", config, "--rules", rules, "--events", events]);
    expect(result.code).toBe(0);
    const alerts = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(alerts.map((a) => [a.ruleId, a.title, a.windowEnd])).toEqual([
      ["token", "Token", "2026-01-01T10:01:00.000Z"],
      ["burst", "a: 3", "2026-01-01T10:02:00.000Z"],
      ["burst", "a: 3", "2026-01-01T10:22:00.000Z"],
    ]);
    expect(result.stderr).toContain("replayed 8 event(s): 3 alert(s)");
    expect(await redis.dbsize()).toBe(0);
    await redis.quit();
  });

  it("reads stdin, reports bad lines with their numbers, and still replays the good ones", async () => {
    const input = [
      line("1", 0),
      "{not json",
      JSON.stringify({ id: "x", time: "yesterday" }),
      line("t", 1, "token"),
      JSON.stringify({ time: "2026-01-01T00:00:00Z" }),
    ].join("\n");
    const result = await runCli(["replay", "--rules", rules, "--events", "-"], { input });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stdin:2: invalid JSON: /m);
    expect(result.stderr).toMatch(/^stdin:3: field time: Invalid ISO datetime/m);
    expect(result.stderr).toMatch(/^stdin:5: field id: /m);
    expect(
      result.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).ruleId),
    ).toEqual(["token"]);
  });

  it("decides absence rules on watermark lines and, at the end of input, as a file source read to its end", async () => {
    const absenceRules = join(dir, "absence.yaml");
    writeFileSync(
      absenceRules,
      `id: unreviewed\nname: Unreviewed\nseverity: low\nwhen: { in: [{ var: action }, [create, update]] }\nabsence:\n  groupBy: [actor.id]\n  after: { "==": [{ var: action }, create] }\n  expect: { "==": [{ var: action }, update] }\n  within: 10m\ntitle: "{{actor.id}} not reviewed"\n`,
    );
    const input = [
      line("c1", 0, "create", "a"),
      line("c2", 1, "create", "b"),
      line("u2", 5, "update", "b"),
      JSON.stringify({ watermark: "2026-01-01T10:10:30Z", source: "replay" }),
      line("c3", 15, "create", "c"),
      line("c4", 40, "create", "d"),
      line("x", 50, "update", "z"),
    ].join("\n");
    const result = await runCli(["replay", "--rules", absenceRules, "--events", "-"], { input });
    expect(result.code).toBe(0);
    // a: decided on the watermark line; b: reviewed in time; c and d: decided at the end of input,
    // where every source's watermark goes to now less the file source's lookback (as live).
    expect(
      result.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).title),
    ).toEqual(["a not reviewed", "c not reviewed", "d not reviewed"]);
    // --until: the input holds what its sources delivered before 10:45; d's deadline (10:50) is not reached.
    const until = await runCli(
      ["replay", "--rules", absenceRules, "--events", "-", "--until", "2026-01-01T10:45:00Z"],
      { input },
    );
    expect(
      until.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).title),
    ).toEqual(["a not reviewed", "c not reviewed"]);
  });

  it("enriches IPs as the engine role does (the same config, the same geo), and not when engine.geoip is off", async () => {
    const geoRule = join(dir, "geo.yaml");
    writeFileSync(
      geoRule,
      'id: geo\nname: Geo\nseverity: low\nwhen: { "!!": [{ var: geo.country }] }\ntitle: "{{ip}} {{geo.country}} {{geo.city}} {{geo.latitude}} {{geo.longitude}} {{geo.accuracyRadius}} {{geo.asn}}"\n',
    );
    const events = [
      "81.2.69.160",
      "8.8.8.8",
      "2001:4860:4860::8888",
      "::ffff:1.1.1.1",
      "10.0.0.1",
      "203.0.113.9",
      "x",
    ].map((ip, i) => event({ id: `g${i}`, time: `2026-01-01T10:0${i}:00Z`, ip }));
    const input = events.map((e) => JSON.stringify({ id: e.id, time: e.time, ip: e.ip })).join("\n");
    const replayed = await runCli(["replay", "--rules", geoRule, "--events", "-"], { input });
    expect(replayed.code).toBe(0);
    const titles = replayed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).title as string);
    // The engine role's composition: its config's engine.geoip, the same engine code.
    const config = VigilConfigSchema.parse({});
    const live = new Engine(loadRules([geoRule]), new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS }), {
      geo: ipGeoFromConfig(config.engine.geoip)!,
    });
    expect(titles).toEqual((await live.processBatch(events, "live")).alerts.map((a) => a.title));
    expect(titles.map((t) => t.split(" ").slice(0, 2).join(" "))).toEqual([
      "81.2.69.160 GB",
      "8.8.8.8 US",
      "2001:4860:4860::8888 CA",
      "::ffff:1.1.1.1 AU",
    ]);
    const off = join(dir, "geo-off.yaml");
    writeFileSync(off, "engine:\n  geoip:\n    enabled: false\n");
    const plain = await runCli(["--config", off, "replay", "--rules", geoRule, "--events", "-"], { input });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe("");
  }, 90_000);

  it("says clearly when the events file is missing", async () => {
    const result = await runCli(["replay", "--rules", rules, "--events", join(dir, "nope.jsonl")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`vigil: cannot read ${join(dir, "nope.jsonl")}: ENOENT\n`);
  });

  it("reports a line nested 5,000 levels as a bad line and replays the rest", async () => {
    const deep = `{"id":"deep","time":"2026-01-01T10:00:00Z","attributes":{"x":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    const input = [line("t1", 0, "token"), deep, line("t2", 1, "token")].join("\n");
    const result = await runCli(["replay", "--rules", rules, "--events", "-"], { input });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stdin:2: nested deeper than 64 levels \(at attributes\.x\.0/m);
    expect(result.stderr).toContain("replayed 2 event(s): 2 alert(s), 1 bad line(s) skipped");
  });

  it("refuses an event dated 2099 (more than events.maxFutureSkew ahead), so the mass deletion after it alerts as without it", async () => {
    const ruleFile = join(REPO_ROOT, "rules/zendesk/mass-user-deletion.yaml");
    const scenario = (parseYaml(readFileSync(ruleFile, "utf8")) as { tests: { events: { id: string }[] }[] }).tests[0]!
      .events;
    const clean = scenario.map((e) => JSON.stringify(e));
    const future = JSON.stringify({ ...scenario[0], id: "z-2099", time: "2099-01-01T00:00:00Z" });
    const without = await runCli(["replay", "--rules", ruleFile, "--events", "-"], { input: clean.join("\n") });
    const withFuture = await runCli(["replay", "--rules", ruleFile, "--events", "-"], {
      input: [future, ...clean].join("\n"),
    });
    const titles = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).title);
    expect(titles(without.stdout)).toEqual(["Mallory Vance deleted 10 Zendesk users"]);
    // The same alert, field for field, but for the moment it was made.
    const alerts = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .map((l) => ({ ...JSON.parse(l), createdAt: undefined }));
    expect(alerts(withFuture.stdout)).toEqual(alerts(without.stdout));
    expect(withFuture.code).toBe(1);
    expect(withFuture.stderr).toContain(
      "stdin:1: field time: 2099-01-01T00:00:00Z is more than 5m ahead of the clock (events.maxFutureSkew)",
    );
    expect(withFuture.stderr).not.toMatch(/late/);
  }, 90_000);
});
