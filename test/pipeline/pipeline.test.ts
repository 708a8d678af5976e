import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Webhook } from "standardwebhooks";
import { createRedis, deleteKeyspace, Keyspace } from "@vigil/core";
import { startSmtpSink, startWebhookSink, type SmtpSink, type WebhookSink } from "@vigil/simulator";
import { runCli, startCli } from "../cli.js";
import { freePort, TEST_REDIS, testRedisSection, waitUntil } from "../helpers.js";

const RULES = `id: e2e.mass-delete
name: Mass deletion
severity: high
when: { "==": [{ var: action }, destroy] }
threshold: { count: 3, within: 5m, groupBy: [actor.id] }
title: "{{actor.email}} deleted {{count}} users"
---
id: e2e.token
name: Token created
severity: critical
when: { "==": [{ var: action }, APITokenCreated] }
title: "token <{{target.name}}> created"
`;

function eventLine(id: string, minute: number, action: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: `files:${id}`,
    source: "files",
    provider: "zendesk",
    nativeId: id,
    time: new Date(Date.UTC(2026, 2, 1, 9, minute)).toISOString(),
    action,
    category: "delete",
    outcome: "success",
    actor: { id: "42", email: "mallory@example.com" },
    target: { type: "user", id: id },
    attributes: {},
    raw: { id },
    ...extra,
  });
}

describe("the pipeline end to end, as `vigil run`", () => {
  let smtp: SmtpSink;
  let webhook: WebhookSink;
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const dir = mkdtempSync(join(tmpdir(), "vigil-e2e-"));
  const prefix = `test-e2e-${randomUUID()}`;
  const redis = createRedis(TEST_REDIS);

  beforeAll(async () => {
    smtp = await startSmtpSink({ port: 0 });
    webhook = await startWebhookSink({ port: 0, secret });
  });
  afterAll(async () => {
    await smtp.close();
    await webhook.close();
    await deleteKeyspace(redis, new Keyspace(prefix));
    await redis.quit();
  });

  async function writeConfig(port: number): Promise<string> {
    writeFileSync(join(dir, "rules.yaml"), RULES);
    const config = join(dir, "vigil.config.yaml");
    writeFileSync(
      config,
      `redis: ${testRedisSection(prefix)}
sources:
  - { name: files, type: file, path: ${join(dir, "events.jsonl")}, pollInterval: 500ms }
rules: { paths: [${join(dir, "rules.yaml")}] }
channels:
  - { name: mail, type: email, from: vigil@example.com, to: [soc@example.com], smtp: { host: 127.0.0.1, port: ${smtp.port}, allowPlaintext: true } }
  - { name: hook, type: webhook, url: "${webhook.url}", allowInsecureHttp: true, secret: "\${TEST_WEBHOOK_SECRET}" }
routes:
  - { match: { severity: [high, critical] }, channels: [mail, hook] }
notifier: { attempts: 2, backoff: 100ms }
server: { host: 127.0.0.1, port: ${port} }
`,
    );
    return config;
  }

  it("turns events in a file into emails and signed webhooks, keeps tailing, and stops cleanly on SIGTERM", async () => {
    writeFileSync(
      join(dir, "events.jsonl"),
      [eventLine("1", 0, "destroy"), eventLine("2", 1, "destroy"), eventLine("3", 2, "destroy"), ""].join("\n"),
    );
    const port = await freePort();
    const config = await writeConfig(port);
    const env = { TEST_WEBHOOK_SECRET: secret };
    const vigil = startCli(["--config", config, "run"], { env });
    try {
      const mails = await smtp.waitFor(1, 20_000);
      expect(mails[0]!.subject).toBe("[HIGH] mallory@example.com deleted 3 users");
      expect(mails[0]!.text).toContain("mallory@example.com deleted 3 users");
      const [first] = await webhook.waitFor(1, 20_000);
      const verified = new Webhook(secret).verify(first!.body, first!.headers as Record<string, string>) as {
        ruleId: string;
        eventIds: string[];
      };
      expect(verified.ruleId).toBe("e2e.mass-delete");
      expect(verified.eventIds).toEqual(["files:1", "files:2", "files:3"]);

      // The connector keeps tailing the file.
      appendFileSync(
        join(dir, "events.jsonl"),
        `${eventLine("4", 3, "APITokenCreated", { target: { type: "api_token", name: "<ci>" } })}\n`,
      );
      const both = await webhook.waitFor(2, 20_000);
      expect(both[1]!.verified).toBe(true);
      expect((both[1]!.json as { title: string }).title).toBe("token <<ci>> created");
      const secondMail = (await smtp.waitFor(2, 20_000))[1]!;
      expect(secondMail.html).toContain("token &lt;&lt;ci&gt;&gt; created");

      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/vigil_alerts_raised_total\{rule="e2e.mass-delete",severity="high"\} 1/);
      expect(metrics).toMatch(/vigil_deliveries_total\{channel="hook",outcome="sent"\} 2/);

      const status = await runCli(["--config", config, "status", "--json"], { env });
      expect(status.code).toBe(0);
      const parsed = JSON.parse(status.stdout);
      expect(parsed.sources[0]).toMatchObject({ name: "files", type: "file" });
      expect(parsed.failedDeliveries).toBe(0);
    } finally {
      vigil.child.kill("SIGTERM");
    }
    expect(await vigil.exited).toBe(0);
    expect(vigil.output()).toContain('"msg":"stopped"');
    // Nothing was doubled: one email and one webhook per alert.
    expect(smtp.messages).toHaveLength(2);
    expect(webhook.requests).toHaveLength(2);
  });

  it("keeps a permanently failing delivery, lists it, and re-sends it with `vigil deliveries retry`", async () => {
    webhook.requests.length = 0;
    smtp.messages.length = 0;
    webhook.respondWith(() => 400);
    writeFileSync(
      join(dir, "events.jsonl"),
      `${eventLine("t1", 30, "APITokenCreated", { id: "files:t1", target: { name: "deploy" } })}\n`,
    );
    await redis.del(new Keyspace(prefix).key("source", "files", "checkpoint"));
    const port = await freePort();
    const config = await writeConfig(port);
    const env = { TEST_WEBHOOK_SECRET: secret };
    const vigil = startCli(["--config", config, "run"], { env });
    try {
      await smtp.waitFor(1, 20_000);
      let failed = { stdout: "", code: 0 as number | null };
      await waitUntil(
        async () => {
          failed = await runCli(["--config", config, "deliveries", "failed", "--json"], { env });
          return failed.stdout.trim() !== "";
        },
        30_000,
        "a failed delivery",
      );
      const [delivery] = failed.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(delivery).toMatchObject({
        channel: "hook",
        ruleId: "e2e.token",
        title: "token <deploy> created",
        attempts: 1,
      });
      expect(delivery.failedReason).toMatch(/400/);

      webhook.respondWith(() => 204);
      const retried = await runCli(["--config", config, "deliveries", "retry", "--all"], { env });
      expect(retried.stdout).toContain(`retrying ${delivery.id}`);
      const [received] = await webhook.waitFor(2, 20_000).then((all) => all.slice(1));
      expect(received!.verified).toBe(true);
      expect(received!.headers["webhook-id"]).toBe(webhook.requests[0]!.headers["webhook-id"]);
      await waitUntil(
        async () =>
          (await runCli(["--config", config, "deliveries", "failed"], { env })).stdout.includes("no failed deliveries"),
        20_000,
        "the failed list to empty",
      );
    } finally {
      vigil.child.kill("SIGTERM");
      await vigil.exited;
    }
  }, 60_000); // five CLI processes in turn: slow on a loaded two-core machine
});
