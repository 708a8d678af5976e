import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli.js";

describe("vigil demo", () => {
  it("tells the attack story through the five simulated providers and delivers every alert on every channel kind", async () => {
    const renderDir = mkdtempSync(join(tmpdir(), "vigil-render-"));
    const result = await runCli(["demo", "--render-dir", renderDir]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("5 simulated providers");
    expect(result.stdout).toContain("every step of the attack story raised its alert");
    const summary = /summary: (\d+) events → (\d+) alerts → (\d+) emails, (\d+) webhooks \((\d+) verified\)/.exec(
      result.stdout,
    );
    expect(summary).not.toBeNull();
    const [, events, alerts, emails, webhooks, verified] = summary!.map(Number);
    expect(events).toBeGreaterThan(700);
    expect(alerts).toBeGreaterThanOrEqual(8);
    expect([emails, webhooks, verified]).toEqual([alerts, alerts, alerts]);
    expect(result.stdout).toMatch(/\[CRITICAL\] Password spraying from 203\.0\.113\.66/);
    // Each alert is printed with the step of the story it belongs to; the story runs a sequence and an absence.
    expect(result.stdout).toMatch(
      /\[CRITICAL\] A Pylon login from 203\.0\.113\.66 succeeded after \d+ failed attempts \(signature verified\)\n\s+story: 4\. a Pylon login brute-forced until it succeeds \(a sequence\)/,
    );
    expect(result.stdout).toMatch(
      /Zendesk API token \d+ created by Mallory Vance was not reviewed within an hour \(signature verified\)\n\s+story: 7\./,
    );
    expect(result.stdout).toMatch(/\[HIGH\] mallory@acme\.example created a Logfire write token at .*\n\s+story: 3\./);
    // Ordinary activity never creates a Logfire token at night.
    // One alert, on each of the six channels: email, webhook, Slack, Teams, PagerDuty, Alertmanager.
    expect(result.stdout.match(/created a Logfire write token at/g)?.length).toBe(6);
    for (const kind of ["slack", "teams", "pagerduty", "alertmanager"])
      expect(result.stdout).toMatch(
        new RegExp(`${kind} +${alerts} accepted.*, 0 outside the provider's documented limits`),
      );
    // One folder per alert, each with the message of every channel.
    const folders = readdirSync(renderDir);
    expect(folders).toHaveLength(alerts!);
    const spray = folders.find((folder) => folder.endsWith("bloodhound.password-spray"));
    expect(readdirSync(join(renderDir, spray!)).sort()).toEqual([
      "alertmanager.json",
      "email.html",
      "email.txt",
      "pagerduty.json",
      "slack.json",
      "teams.json",
      "webhook.json",
    ]);
    const text = readFileSync(join(renderDir, spray!, "email.txt"), "utf8");
    expect(text).toContain(
      "vigil silence add --match ruleId=bloodhound.password-spray --match ip=203.0.113.66 --for 2h",
    );
    expect(text).toMatch(/\d+ events in \d+ s/);
    rmSync(renderDir, { recursive: true, force: true });
    // The story's first-seen and impossible-travel step: Mallory's account in London, then in Jilin.
    expect(result.stdout).toMatch(
      /\[HIGH\] mallory@acme\.example logged in to Pylon from London, GB at \S+ and from Jilin, CN at \S+: \d+ km\/h \(signature verified\)\n\s+story: 9\./,
    );
    expect(result.stdout).toMatch(
      /\[MEDIUM\] mallory@acme\.example logged in to Pylon from a new country, CN \(Jilin, 175\.16\.199\.10\) \(signature verified\)\n\s+story: 9\./,
    );
    // The ordinary activity (tuned by the demo organization's acme-tuning.yaml) raises no alert at all:
    // every alert delivered belongs to a step of the story, and each rule of the story alerts once.
    expect(result.stdout).not.toContain("not part of the story");
    expect(result.stdout).toContain("the ordinary activity raised no alert");
    const storyLines = result.stdout.match(/\n\s+story: \d+\./g) ?? [];
    expect(storyLines.length).toBe(alerts);
    expect(alerts).toBe(13);
  }, 180_000);

  it("runs on a JSON-lines file instead, with --events: one file source per source, the alerts `vigil replay` raises", async () => {
    const sample = "apps/cli/src/demo/sample-events.jsonl";
    const [result, replay] = await Promise.all([
      runCli(["demo", "--events", sample]),
      runCli(["replay", "--rules", "rules", "--events", sample]),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "5 file sources: bloodhound-prod, logfire-prod, pylon-prod, zendesk-prod, ashby-prod",
    );
    const replayed = replay.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { ruleId: string });
    expect(replayed.length).toBeGreaterThanOrEqual(9);
    const n = replayed.length;
    expect(result.stdout).toContain(`summary: 1575 events → ${n} alerts → ${n} emails, ${n} webhooks (${n} verified)`);
    for (const { ruleId } of replayed) expect(result.stdout).toContain(ruleId);
  });

  it("says what to install when Redis does not answer and redis-server is missing", async () => {
    const bin = mkdtempSync(join(tmpdir(), "vigil-path-"));
    symlinkSync(process.execPath, join(bin, "node"));
    // The package manager's launcher script needs these; redis-server stays out of reach.
    for (const tool of ["sed", "dirname", "uname"])
      symlinkSync(execFileSync("which", [tool], { encoding: "utf8" }).trim(), join(bin, tool));
    const config = join(bin, "vigil.config.yaml");
    writeFileSync(config, 'redis: { url: "redis://127.0.0.1:1" }\n');
    const result = await runCli(["--config", config, "demo"], { env: { PATH: bin } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("nothing answers at redis://127.0.0.1:1 and redis-server is not installed");
    expect(result.stderr).toContain("apt-get install redis-server");
  });
});
