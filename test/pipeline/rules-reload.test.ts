import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { randomBytes, randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, deleteKeyspace, Keyspace } from "@vigil/core";
import { startWebhookSink, type WebhookSink } from "@vigil/simulator";
import { startCli } from "../cli.js";
import { freePort, REDIS_URL, waitUntil } from "../helpers.js";

const BURST = (title: string) => `id: reload.burst
name: Deletion burst
severity: high
when: { "==": [{ var: action }, destroy] }
threshold: { count: 3, within: 5m, groupBy: [actor.id] }
title: "${title}"
`;
const SENTINEL = `id: reload.sentinel
name: Sentinel
severity: high
when: { "==": [{ var: action }, ping] }
title: "ping {{target.id}}"
`;
const ADDED = `id: reload.added
name: Added while running
severity: high
when: { "==": [{ var: action }, export] }
title: "export {{target.id}}"
`;

let seq = 0;
function eventLine(action: string, second: number): string {
  seq += 1;
  return JSON.stringify({
    id: `files:${seq}`,
    source: "files",
    provider: "zendesk",
    nativeId: String(seq),
    time: new Date(Date.UTC(2026, 2, 1, 9, 0, second)).toISOString(),
    action,
    category: "delete",
    outcome: "success",
    actor: { id: "42", email: "mallory@example.com" },
    target: { type: "user", id: `t${seq}` },
    attributes: {},
    raw: {},
  });
}

describe("rules reloaded while `vigil run` runs", () => {
  let webhook: WebhookSink;
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const dir = mkdtempSync(join(tmpdir(), "vigil-reload-"));
  const rulesDir = join(dir, "rules");
  const events = join(dir, "events.jsonl");
  const prefix = `test-reload-${randomUUID()}`;
  const redis = createRedis(REDIS_URL);

  beforeAll(async () => {
    webhook = await startWebhookSink({ port: 0, secret });
  });
  afterAll(async () => {
    await webhook.close();
    await deleteKeyspace(redis, new Keyspace(prefix));
    await redis.quit();
  });

  const titles = (ruleId: string) =>
    webhook.requests.map((r) => r.json as { ruleId: string; title: string }).filter((a) => a.ruleId === ruleId);

  it("picks up an edited title, an added rule, refuses a broken file and recovers when it is fixed", async () => {
    mkdirSync(rulesDir);
    writeFileSync(join(rulesDir, "burst.yaml"), BURST("burst v1 {{count}}"));
    writeFileSync(join(rulesDir, "sentinel.yaml"), SENTINEL);
    writeFileSync(events, "");
    const port = await freePort();
    const config = join(dir, "vigil.config.yaml");
    writeFileSync(
      config,
      `redis: { url: "\${TEST_REDIS_URL}", prefix: ${prefix} }
sources:
  - { name: files, type: file, path: ${events}, pollInterval: 200ms }
rules: { paths: [${rulesDir}], watchEvery: 200ms }
channels:
  - { name: hook, type: webhook, url: "${webhook.url}", allowInsecureHttp: true, secret: "\${TEST_WEBHOOK_SECRET}" }
routes:
  - { channels: [hook] }
server: { host: 127.0.0.1, port: ${port} }
`,
    );
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const metric = async (pattern: RegExp) => Number(pattern.exec(await metrics())?.[1] ?? "0");
    const reloads = () => metric(/^vigil_rules_reloads_total (\d+)/m);
    const failures = () => metric(/^vigil_rules_reload_failures_total (\d+)/m);
    const raised = (rule: string) =>
      metric(new RegExp(`^vigil_alerts_raised_total\\{rule="${rule}",[^}]*\\} (\\d+)`, "m"));
    const append = (...lines: string[]) => appendFileSync(events, `${lines.join("\n")}\n`);
    let pings = 0;
    // A sentinel event behind the others: once its alert is delivered, the batches before it were evaluated.
    const ping = async () => {
      pings += 1;
      append(eventLine("ping", 200 + pings));
      await waitUntil(async () => titles("reload.sentinel").length === pings, 20_000, `sentinel alert ${pings}`);
    };

    const env = { TEST_REDIS_URL: REDIS_URL, TEST_WEBHOOK_SECRET: secret };
    const vigil = startCli(["--config", config, "run"], { env });
    try {
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok === true,
        30_000,
        "ready",
      );
      const firstHash = /^vigil_rules_info\{hash="([0-9a-f]{16})"\} 1$/m.exec(await metrics())?.[1];
      expect(firstHash).toBeDefined();

      // Two of the burst's three events, then a new title: the state survives, so the third alerts.
      append(eventLine("destroy", 0), eventLine("destroy", 10));
      await ping();
      writeFileSync(join(rulesDir, "burst.yaml"), BURST("burst v2 {{count}}"));
      await waitUntil(async () => (await reloads()) === 1, 20_000, "the edited title to load");
      append(eventLine("destroy", 20));
      await ping();
      expect(titles("reload.burst").map((a) => a.title)).toEqual(["burst v2 3"]);

      // More of the same burst after another title edit: no second alert (the fired span is kept).
      writeFileSync(join(rulesDir, "burst.yaml"), BURST("burst v3 {{count}}"));
      await waitUntil(async () => (await reloads()) === 2, 20_000, "the second edit to load");
      append(eventLine("destroy", 30), eventLine("destroy", 40), eventLine("destroy", 50));
      await ping();
      expect(await raised("reload.burst")).toBe(1);
      expect(titles("reload.burst")).toHaveLength(1);

      // A rule added to the folder takes effect.
      writeFileSync(join(rulesDir, "added.yaml"), ADDED);
      await waitUntil(async () => (await reloads()) === 3, 20_000, "the added rule to load");
      append(eventLine("export", 60));
      await ping();
      expect(titles("reload.added").map((a) => a.title)).toEqual([`export t${seq - 1}`]);

      // A broken file: refused, reported with its position, and the rules in force keep working.
      writeFileSync(join(rulesDir, "added.yaml"), ADDED.replace("severity: high", "severity: [high"));
      await waitUntil(async () => (await failures()) === 1, 20_000, "the broken file to be refused");
      expect(vigil.output()).toMatch(new RegExp(`${join(rulesDir, "added.yaml")}:\\d+:\\d+: `));
      expect(vigil.output()).toContain("changed rule files refused; the previous rule set stays in force");
      append(eventLine("export", 70));
      await ping();
      expect(titles("reload.added")).toHaveLength(2);
      expect(await reloads()).toBe(3);

      // Fixed (with a new title, to see which set is in force): it loads again.
      writeFileSync(join(rulesDir, "added.yaml"), ADDED.replace("export {{target.id}}", "exported {{target.id}}"));
      await waitUntil(async () => (await reloads()) === 4, 20_000, "the fixed file to load");
      append(eventLine("export", 80));
      await ping();
      expect(titles("reload.added").map((a) => a.title)).toEqual([
        `export t${seq - 5}`,
        `export t${seq - 3}`,
        `exported t${seq - 1}`,
      ]);
      const lastHash = /^vigil_rules_info\{hash="([0-9a-f]{16})"\} 1$/m.exec(await metrics())?.[1];
      expect(lastHash).not.toBe(firstHash);
      expect(await failures()).toBe(1);
    } finally {
      vigil.child.kill("SIGTERM");
    }
    expect(await vigil.exited).toBe(0);
  }, 120_000);
});
