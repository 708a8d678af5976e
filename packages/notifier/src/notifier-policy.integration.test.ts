import { randomUUID } from "node:crypto";
import {
  Keyspace,
  createMetrics,
  createRedis,
  deleteKeyspace,
  openQueues,
  type Alert,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import { startWebhookSink, type ReceivedWebhook, type WebhookSink } from "@vigil/simulator";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertHistory } from "./alert-history.js";
import { startNotifier, type Notifier } from "./notifier.js";
import { SilenceStore } from "./silences.js";
import { makeAlert } from "./testing/alert.fixture.js";
import { NotifierConfigSchema, type NotifierConfigInput } from "./testing/notifier-config.js";

const SECRET = `whsec_${Buffer.from("notifier-policy-test-key-000001").toString("base64")}`;

/** Polls until `check` holds; the deadline only bounds a broken run. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The alert ids each accepted webhook carried: a group's `alerts`, or the alert itself. */
function carried(request: ReceivedWebhook): string[] {
  const body = request.json as { id: string; alerts?: { id: string }[] };
  return body.alerts ? body.alerts.map((alert) => alert.id) : [body.id];
}

describe("notification policy: grouping, silences, inhibition and the alert history", () => {
  let redis: Redis;
  let keyspace: Keyspace;
  let queues: VigilQueues;
  let hooks: WebhookSink;
  let metrics: Metrics;
  const running: { close(): Promise<void> }[] = [];

  beforeEach(async () => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
    queues = openQueues(redis, keyspace.queuePrefix);
    hooks = await startWebhookSink({ secret: SECRET });
    metrics = createMetrics();
  });

  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.close();
    await queues.close();
    await hooks.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  function configOf(overrides: Partial<NotifierConfigInput>) {
    return NotifierConfigSchema.parse({
      channels: [
        { name: "hook", type: "webhook", url: hooks.url, allowInsecureHttp: true, secret: SECRET, timeout: "5s" },
      ],
      routes: [{ channels: ["hook"] }],
      notifier: { attempts: 1, backoff: "50ms", concurrency: 4 },
      ...overrides,
    });
  }

  async function start(overrides: Partial<NotifierConfigInput> = {}): Promise<Notifier> {
    const config = configOf(overrides);
    const own = openQueues(redis, keyspace.queuePrefix, config);
    const notifier = startNotifier({ config, connection: redis, keyspace, queues: own, metrics });
    running.push(own, notifier);
    await notifier.ready();
    return notifier;
  }

  const history = () => new AlertHistory(redis, keyspace, { retention: 86_400_000, maxAlerts: 1000 });
  const enqueue = (alert: Alert) => queues.alerts.add(alert.ruleId, alert, { jobId: alert.id });
  const accepted = () => hooks.requests.filter((request) => request.status === 200);
  const alertFor = (ruleId: string, actor: string, extra: Partial<Alert> = {}) =>
    makeAlert({ ruleId, groupKey: { "actor.id": actor }, createdAt: new Date().toISOString(), ...extra });

  const GROUPED = (groupWait: string, groupInterval: string) => ({
    routes: [{ channels: ["hook"], groupBy: ["ruleId"], groupWait, groupInterval }],
  });

  it("group_wait gathers a group's alerts into one notification, one per group", async () => {
    await start(GROUPED("1s", "1m"));
    const a = [alertFor("rule.a", "u-1"), alertFor("rule.a", "u-2"), alertFor("rule.a", "u-3")];
    const b = alertFor("rule.b", "u-1");
    for (const alert of [...a, b]) await enqueue(alert);

    await until("two notifications", () => accepted().length === 2);
    await sleep(1_500);
    const sent = accepted().map(carried);
    expect(sent).toHaveLength(2);
    expect(sent.map((ids) => ids.sort())).toEqual(expect.arrayContaining([a.map((alert) => alert.id).sort(), [b.id]]));
    const groupBody = accepted().find((request) => carried(request).length === 3)!.json as Record<string, unknown>;
    expect(groupBody).toMatchObject({ group: { ruleId: "rule.a" }, route: "routes.0" });
    const { values } = await metrics.notificationGroupSize.get();
    expect(values.find((value) => value.metricName?.endsWith("_sum"))?.value).toBe(4);
  });

  it("group_interval spaces a group's later notifications, and a group with nothing new sends nothing", async () => {
    await start(GROUPED("200ms", "2s"));
    const first = alertFor("rule.a", "u-1");
    await enqueue(first);
    await until("the first notification", () => accepted().length === 1);
    const later = [alertFor("rule.a", "u-2"), alertFor("rule.a", "u-3")];
    for (const alert of later) await enqueue(alert);

    await until("the second notification", () => accepted().length === 2);
    const [one, two] = accepted() as [ReceivedWebhook, ReceivedWebhook];
    expect(carried(one)).toEqual([first.id]);
    expect(carried(two).sort()).toEqual(later.map((alert) => alert.id).sort());
    // Due one interval after the first was taken, which was after the first request arrived at the latest.
    expect(two.receivedAt - one.receivedAt).toBeGreaterThanOrEqual(2_000 - 100);
    await sleep(3_000);
    expect(accepted()).toHaveLength(2);
  });

  it("two replicas, one stopped inside group_wait: each group is notified once, with every alert", async () => {
    const replica = await start(GROUPED("1500ms", "1m"));
    await start(GROUPED("1500ms", "1m"));
    const alerts = Array.from({ length: 24 }, (_, i) => alertFor(`rule.${i % 4}`, `u-${i}`));
    // Each alert job twice, as a redelivery would: it adds nothing.
    for (const alert of alerts) await enqueue(alert);
    for (const alert of alerts) await enqueue(alert);
    await sleep(300);
    await replica.close();

    await until("four notifications", () => accepted().length >= 4);
    await sleep(2_500);
    const sent = accepted().map(carried);
    expect(sent).toHaveLength(4);
    expect(sent.flat().sort()).toEqual(alerts.map((alert) => alert.id).sort());
    for (const ids of sent)
      expect(new Set(ids.map((id) => alerts.find((alert) => alert.id === id)!.ruleId)).size).toBe(1);
  });

  it("inhibits a target alert sharing the equal fields with a source alert, and records it", async () => {
    await start({
      inhibit: [{ source: ["severity=critical"], target: ["severity=~medium|high"], equal: ["actor.id"], for: "1h" }],
    });
    const source = alertFor("ato", "u-1", { severity: "critical" });
    await enqueue(source);
    await until("the source is notified", () => accepted().length === 1);
    const muted = alertFor("odd-login", "u-1", { severity: "high" });
    const other = alertFor("odd-login", "u-2", { severity: "high" });
    await enqueue(muted);
    await enqueue(other);

    await until("the other actor's alert is notified", () => accepted().length === 2);
    await until("the muted alert is recorded", async () => (await history().get(muted.id))?.status === "inhibited");
    expect(accepted().flatMap(carried)).toEqual([source.id, other.id]);
    expect((await history().get(muted.id))?.entries).toContainEqual(
      expect.objectContaining({ kind: "inhibited", by: source.id, inhibitRule: 0 }),
    );
    expect((await metrics.alertsInhibited.get()).values[0]?.value).toBe(1);
  });

  it("silences alerts raised while a silence is active (regex match, CLI and config silences), records the silence id", async () => {
    const store = new SilenceStore(redis, keyspace);
    const silence = await store.add({
      match: ["ruleId=~okta\\..*", "actor.id=u-1"],
      forMs: 3_600_000,
      reason: "migration",
    });
    await start({
      silences: [
        { match: ["provider=pylon"], reason: "Pylon sandbox", endsAt: new Date(Date.now() + 3_600_000).toISOString() },
      ],
    });
    const silenced = alertFor("okta.login", "u-1");
    const fromConfig = alertFor("pylon.any", "u-9", { provider: "pylon" });
    const kept = alertFor("okta.login", "u-2");
    for (const alert of [silenced, fromConfig, kept]) await enqueue(alert);

    await until("the unsilenced alert is notified", () => accepted().length === 1);
    await until("both silenced alerts are recorded", async () => {
      const records = await Promise.all([silenced, fromConfig].map((alert) => history().get(alert.id)));
      return records.every((record) => record?.status === "silenced");
    });
    expect(accepted().flatMap(carried)).toEqual([kept.id]);
    expect((await history().get(silenced.id))?.entries).toContainEqual(
      expect.objectContaining({ kind: "silenced", silenceId: silence.id, reason: "migration" }),
    );
    expect((await history().get(fromConfig.id))?.entries[0]).toMatchObject({
      silenceId: expect.stringMatching(/^config-/),
    });

    // Expired: alerts raised from now on go through.
    await store.expire(silence.id);
    const after = alertFor("okta.login", "u-1");
    await enqueue(after);
    await until("the alert raised after expiry is notified", () => accepted().length === 2);
    expect((await metrics.alertsSilenced.get()).values.reduce((sum, value) => sum + value.value, 0)).toBe(2);
  });

  it("records what happened to every alert: notified with the receiver's answer, grouped with which, failed", async () => {
    await start({
      routes: [
        { match: ["ruleId=grouped"], channels: ["hook"], groupBy: ["ruleId"], groupWait: "300ms" },
        { channels: ["hook"] },
      ],
    });
    const grouped = [alertFor("grouped", "u-1"), alertFor("grouped", "u-2")];
    for (const alert of grouped) await enqueue(alert);
    await until("the group is notified", () => accepted().length === 1);
    hooks.respondWith(() => 400);
    const failing = alertFor("single", "u-3");
    await enqueue(failing);

    await until("the failure is recorded", async () => (await history().get(failing.id))?.status === "failed");
    await until("the group's alerts are notified", async () => {
      const records = await Promise.all(grouped.map((alert) => history().get(alert.id)));
      return records.every((record) => record?.status === "notified");
    });
    const record = await history().get(grouped[0]!.id);
    expect(record?.entries.map((entry) => entry.kind)).toEqual(["routed", "grouped", "delivery"]);
    expect(record?.entries[1]).toMatchObject({ alertIds: expect.arrayContaining(grouped.map((alert) => alert.id)) });
    expect(record?.entries[2]).toMatchObject({ channel: "hook", outcome: "sent", answer: "200 OK", attempt: 1 });
    expect((await history().get(failing.id))?.entries.at(-1)).toMatchObject({
      outcome: "failed",
      answer: expect.stringContaining("400"),
    });
    expect((await history().list({ status: "notified" })).map((each) => each.alert.id).sort()).toEqual(
      grouped.map((alert) => alert.id).sort(),
    );
    expect(await history().list({ ruleId: "single" })).toHaveLength(1);
  });
});
