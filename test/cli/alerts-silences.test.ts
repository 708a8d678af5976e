import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openQueue, type Alert } from "@vigil/core";
import { makeAlert } from "@vigil/notifier/testing";
import { startWebhookSink, type ReceivedWebhook } from "@vigil/simulator";
import { runCli, startCli } from "../cli.js";
import { REDIS_URL, useRedis, waitUntil } from "../helpers.js";

const SECRET = `whsec_${Buffer.from("alerts-silences-cli-test-key-01").toString("base64")}`;
const { redis, keyspace } = useRedis();
const dir = mkdtempSync(join(tmpdir(), "vigil-alerts-"));
const hooks = await startWebhookSink({ secret: SECRET });
afterAll(() => hooks.close());

function writeConfig(name: string, body: string): { path: string; queuePrefix: string } {
  const ks = keyspace();
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `redis: { url: "${REDIS_URL}", prefix: "${ks.prefix}" }
channels:
  - { name: hook, type: webhook, url: ${JSON.stringify(hooks.url)}, allowInsecureHttp: true, secret: "${SECRET}", timeout: 5s }
${body}`,
  );
  return { path, queuePrefix: ks.queuePrefix };
}

const carried = (request: ReceivedWebhook) =>
  ((request.json as { alerts?: Alert[] }).alerts ?? [request.json as Alert]).map((alert) => alert.id);

describe("vigil silence", () => {
  const { path: config } = writeConfig(
    "silences",
    `silences:
  - { match: ["provider=pylon"], reason: "Pylon sandbox", endsAt: "2099-01-01T00:00:00Z" }
`,
  );

  it("refuses a silence without a reason or an expiry, with a clear error", { timeout: 120_000 }, async () => {
    const noReason = await runCli(["--config", config, "silence", "add", "--match", "ruleId=a", "--for", "2h"]);
    expect(noReason).toMatchObject({ code: 2, stdout: "" });
    expect(noReason.stderr.trim()).toBe('vigil: a silence needs a reason: --reason "planned migration of …"');
    const noExpiry = await runCli(["--config", config, "silence", "add", "--match", "ruleId=a", "--reason", "x"]);
    expect(noExpiry.code).toBe(2);
    expect(noExpiry.stderr).toContain("a silence needs an expiry: --for <duration> (e.g. 2h) or --until <ISO time>");
    const badFor = await runCli([
      "--config",
      config,
      "silence",
      "add",
      "--match",
      "a=b",
      "--for",
      "soon",
      "--reason",
      "x",
    ]);
    expect(badFor.stderr).toContain('--for "soon" is not a duration');
  });

  it("adds, lists and expires silences; config silences are listed too", { timeout: 240_000 }, async () => {
    const added = await runCli([
      "--config",
      config,
      "silence",
      "add",
      "--match",
      "ruleId=~okta\\..*",
      "--match",
      "actor.email=ana@example.com",
      "--for",
      "2h",
      "--reason",
      "planned IdP migration",
      "--author",
      "ana",
    ]);
    expect(added.code).toBe(0);
    const id = /^silence (\S+) added: ruleId=~okta\\\.\.\* actor\.email=ana@example\.com until /.exec(
      added.stdout,
    )?.[1];
    expect(id).toBeDefined();

    const listed = await runCli(["--config", config, "silence", "list", "--json"]);
    const silences = listed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; state: string; origin: string; author: string });
    expect(silences).toEqual([
      expect.objectContaining({ origin: "config", state: "active", id: expect.stringMatching(/^config-/) }),
      expect.objectContaining({ id, origin: "cli", state: "active", author: "ana" }),
    ]);

    expect((await runCli(["--config", config, "silence", "expire", id!])).stdout).toContain(`silence ${id} expired at`);
    expect((await runCli(["--config", config, "silence", "list", "--json"])).stdout).not.toContain(id!);
    const all = await runCli(["--config", config, "silence", "list", "--all"]);
    expect(all.stdout).toMatch(new RegExp(`${id}\\s+expired \\(by hand\\)`));
    expect((await runCli(["--config", config, "silence", "expire", "nope"])).stderr).toContain("no silence nope");
  });
});

describe("grouped notifications across notifier processes, and vigil alerts", () => {
  it("a notifier SIGKILLed inside group_wait, two replicas: each group is notified once; the history shows it", {
    timeout: 300_000,
  }, async () => {
    const { path: config, queuePrefix } = writeConfig(
      "grouped",
      `routes:
  - { match: ["severity=low"], channels: [hook], groupBy: [ruleId], groupWait: 8s, groupInterval: 10m }
notifier: { concurrency: 4, attempts: 3, backoff: 200ms }
`,
    );
    const start = () => startCli(["--config", config, "run", "notifier", "--port", "0"]);
    const replicas = [start(), start()];
    try {
      await waitUntil(
        () => replicas.every((r) => r.output().includes('"vigil started"')),
        120_000,
        "notifiers started",
      );
      const alerts = openQueue("alerts", redis, queuePrefix);
      const now = Date.now();
      const raised = Array.from({ length: 12 }, (_, i) =>
        makeAlert({ ruleId: `rule.${i % 3}`, severity: "low", createdAt: new Date(now + i).toISOString() }),
      );
      for (const alert of raised) await alerts.add(alert.ruleId, alert, { jobId: alert.id });
      await waitUntil(async () => (await alerts.getCompletedCount()) === 12, 30_000, "alerts routed");
      // Inside group_wait: nothing has been sent yet when the first replica dies.
      const before = hooks.requests.length;
      replicas[0]!.child.kill("SIGKILL");
      await replicas[0]!.exited;
      replicas.push(start());
      await alerts.close();

      await waitUntil(() => hooks.requests.length - before >= 3, 60_000, "three group notifications");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(before).toBe(0);
      const sent = hooks.requests.filter((request) => request.status === 200).map(carried);
      expect(sent).toHaveLength(3);
      expect(sent.map((ids) => ids.length)).toEqual([4, 4, 4]);
      expect(sent.flat().sort()).toEqual(raised.map((alert) => alert.id).sort());

      const listed = await runCli(["--config", config, "alerts", "list", "--status", "notified", "--json"]);
      expect(listed.code).toBe(0);
      const records = listed.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { alert: Alert });
      expect(records.map((record) => record.alert.id).sort()).toEqual(raised.map((alert) => alert.id).sort());
      const shown = await runCli(["--config", config, "alerts", "show", raised[0]!.id]);
      expect(shown.stdout).toContain("status:   notified");
      expect(shown.stdout).toMatch(/grouped in notification \S+ \(routes\.0\) with 3 other alert\(s\)/);
      expect(shown.stdout).toMatch(/hook: sent \(attempt 1, notification \S+\): 200 OK/);
      expect(shown.stdout).toContain("zendesk-prod:1001");
      // The evidence and next steps its notifications carried: the threshold's window and its first and last events.
      expect(shown.stdout).toContain("10 events in 5 m (2026-01-31 12:00:00 UTC to 12:05:00 UTC):");
      expect(shown.stdout).toContain(
        "  first: 2026-01-31 12:00:10 UTC destroy by agent@example.com on user 7 from 203.0.113.9",
      );
      expect(shown.stdout).toContain(
        "silence:  vigil silence add --match ruleId=rule.0 --match actor.id=u-42 --for 2h",
      );
      const table = await runCli(["--config", config, "alerts", "list", "--rule", "rule.0"]);
      expect(table.stdout.split("\n").filter((line) => line.includes("rule.0"))).toHaveLength(4);
      expect((await runCli(["--config", config, "alerts", "show", "nope"])).stderr).toContain("no alert nope");
    } finally {
      for (const replica of replicas) replica.child.kill("SIGTERM");
      await Promise.all(replicas.map((replica) => replica.exited));
    }
  });

  it("vigil rules validate --config warns of rules whose alerts reach no one", { timeout: 90_000 }, async () => {
    const { path: config } = writeConfig(
      "unrouted",
      `routes:\n  - { match: ["severity=critical"], channels: [hook] }\n`,
    );
    const rules = join(dir, "rules.yaml");
    writeFileSync(
      rules,
      `id: a.critical
name: A
severity: critical
when: { "==": [{ var: action }, a] }
---
id: b.low
name: B
severity: low
when: { "==": [{ var: action }, b] }
`,
    );
    const result = await runCli(["--config", config, "rules", "validate", rules]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual([
      `2 rule(s) valid in ${rules}`,
      `warning: ${rules}:6:5: rule b.low can raise alerts that reach no one: it has no notify list, no route takes it and the config has no defaultRoute`,
    ]);
  });
});
