import { randomUUID } from "node:crypto";
import {
  Keyspace,
  createMetrics,
  createRedis,
  deleteKeyspace,
  deliveryJobId,
  DELIVERED_RETENTION_S,
  QUEUE_NAMES,
  openQueue,
  openQueues,
  type Alert,
  type Metrics,
  type VigilQueues,
  retryFailedJobs,
} from "@vigil/core";
import { startSmtpSink, startWebhookSink, type SmtpSink, type WebhookSink } from "@vigil/simulator";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertHistory } from "./alert-history.js";
import { DeliveryLedger } from "./delivery-ledger.js";
import { listFailedDeliveries } from "./failed-deliveries.js";
import { startNotifier, type Notifier } from "./notifier.js";
import {
  NotifierConfigSchema as ConfigSchema,
  type NotifierConfigInput as ConfigInput,
} from "./testing/notifier-config.js";
import { makeAlert } from "./testing/alert.fixture.js";
import { closedPort } from "./testing/free-port.js";
import { recordingLogger, type LogRecord } from "./testing/recording-logger.js";

const SECRET = `whsec_${Buffer.from("notifier-integration-test-key-01").toString("base64")}`;
const URL_TOKEN = "url-token-not-for-logs";
const WAIT_MS = 10_000;

/** Polls until `check` holds; the deadline only bounds a broken run, nothing asserts on time. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function skippedCount(metrics: Metrics, channel: string): Promise<number> {
  const { values } = await metrics.deliveriesSkipped.get();
  return values.find((value) => value.labels.channel === channel && value.labels.reason === "already_sent")?.value ?? 0;
}

async function deliveryCount(metrics: Metrics, channel: string, outcome: "sent" | "retry" | "failed"): Promise<number> {
  const { values } = await metrics.deliveries.get();
  return values.find((value) => value.labels.channel === channel && value.labels.outcome === outcome)?.value ?? 0;
}

describe("notifier against Redis, an SMTP sink and a webhook sink", () => {
  let redis: Redis;
  let keyspace: Keyspace;
  let queues: VigilQueues;
  let smtp: SmtpSink;
  let hooks: WebhookSink;
  let metrics: Metrics;
  let logs: LogRecord[];
  const running: { close(): Promise<void> }[] = [];

  beforeEach(async () => {
    redis = createRedis("redis://127.0.0.1:6379");
    keyspace = new Keyspace(`test-${randomUUID()}`);
    queues = openQueues(redis, keyspace.queuePrefix);
    smtp = await startSmtpSink();
    hooks = await startWebhookSink({ secret: SECRET });
    metrics = createMetrics();
    logs = [];
  });

  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.close();
    await queues.close();
    await Promise.all([smtp.close(), hooks.close()]);
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  /** Starts a notifier with an email and a webhook channel; every alert goes to both unless its rule says otherwise. */
  async function start(
    overrides: { smtpPort?: number; notifier?: ConfigInput["notifier"]; routes?: ConfigInput["routes"] } = {},
  ): Promise<Notifier> {
    const config = ConfigSchema.parse({
      channels: [
        {
          name: "soc-email",
          type: "email",
          from: "Vigil <vigil@example.com>",
          to: ["soc@example.com"],
          smtp: {
            host: "127.0.0.1",
            port: overrides.smtpPort ?? smtp.port,
            allowPlaintext: true,
            timeout: "5s",
            auth: { user: "vigil", pass: "smtp-pass" },
          },
        },
        {
          name: "soc-webhook",
          type: "webhook",
          url: `${hooks.url}?token=${URL_TOKEN}`,
          allowInsecureHttp: true,
          secret: SECRET,
          timeout: "5s",
        },
      ],
      routes: overrides.routes ?? [{ channels: ["soc-email", "soc-webhook"] }],
      notifier: overrides.notifier ?? { attempts: 3, backoff: "50ms", concurrency: 4 },
    });
    const { logger, records } = recordingLogger();
    logs = records;
    const deliveries = openQueue("deliveries", redis, keyspace.queuePrefix, config);
    const groups = openQueue("groups", redis, keyspace.queuePrefix, config);
    running.push(deliveries, groups);
    const notifier = startNotifier({
      config,
      connection: redis,
      keyspace,
      queues: { deliveries, groups },
      metrics,
      logger,
    });
    running.push(notifier);
    await notifier.ready();
    return notifier;
  }

  const enqueue = (alert: Alert, jobId = alert.id) => queues.alerts.add("alert", alert, { jobId });

  it("delivers an alert as an email and as a signed webhook", async () => {
    await start();
    const alert = makeAlert({ title: "agent@example.com deleted <10> users" });
    await enqueue(alert);

    const [mail] = await smtp.waitFor(1, WAIT_MS);
    expect(mail?.subject).toBe("[HIGH] agent@example.com deleted <10> users");
    expect(mail?.to).toEqual(["soc@example.com"]);
    expect(mail?.authUser).toBe("vigil");
    expect(mail?.text).toContain("agent@example.com deleted <10> users");
    expect(mail?.text).toContain("Rule:     Mass user deletion (zendesk.mass-user-deletion)");
    expect(mail?.text).toContain('Group:    actor.id="u-42"');
    expect(mail?.text).toContain("Event ids: zendesk-prod:1001, zendesk-prod:1002 and 8 more");
    expect(mail?.html).toContain("agent@example.com deleted &lt;10&gt; users");
    expect(mail?.html).toContain("destroy by agent@example.com on user 7 from 203.0.113.9");

    const [request] = await hooks.waitFor(1, WAIT_MS);
    expect(request?.verified).toBe(true);
    expect(request?.headers["webhook-id"]).toBe(deliveryJobId(alert.id, "soc-webhook"));
    expect(request?.json).toEqual(alert);

    await until("both deliveries are counted as sent", async () => (await queues.deliveries.getCompletedCount()) === 2);
    expect(await deliveryCount(metrics, "soc-email", "sent")).toBe(1);
    expect(await deliveryCount(metrics, "soc-webhook", "sent")).toBe(1);
  });

  it("retries a webhook that answers 500 twice, with the same webhook-id each time", async () => {
    hooks.respondWith((_request, n) => (n <= 2 ? 500 : 200));
    await start();
    const alert = makeAlert({ notify: ["soc-webhook"] });
    await enqueue(alert);

    const requests = await hooks.waitFor(3, WAIT_MS);
    expect(requests.map((request) => request.status)).toEqual([500, 500, 200]);
    expect(requests.every((request) => request.verified)).toBe(true);
    expect(new Set(requests.map((request) => request.headers["webhook-id"]))).toEqual(
      new Set([deliveryJobId(alert.id, "soc-webhook")]),
    );

    await until("the delivery completes", async () => (await queues.deliveries.getCompletedCount()) === 1);
    expect(await queues.deliveries.getFailedCount()).toBe(0);
    expect(await deliveryCount(metrics, "soc-webhook", "retry")).toBe(2);
    expect(await deliveryCount(metrics, "soc-webhook", "sent")).toBe(1);
  });

  it("keeps a delivery refused with 400 as failed after one attempt, then re-sends it on retry", async () => {
    hooks.respondWith(() => 400);
    await start();
    const alert = makeAlert({ notify: ["soc-webhook"] });
    await enqueue(alert);
    const id = deliveryJobId(alert.id, "soc-webhook");

    await until("the delivery has failed", async () => (await queues.deliveries.getFailedCount()) === 1);
    expect(hooks.requests).toHaveLength(1);
    const failed = await listFailedDeliveries(queues.deliveries);
    expect(failed).toEqual([
      {
        id,
        alertId: alert.id,
        channel: "soc-webhook",
        ruleId: alert.ruleId,
        title: alert.title,
        attempts: 1,
        failedReason: expect.stringContaining(`channel soc-webhook: webhook 127.0.0.1:${hooks.port} answered 400`),
        failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    expect(failed[0]?.failedReason).not.toContain(URL_TOKEN);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: "error",
        component: "notifier.deliveries",
        jobId: id,
        channel: "soc-webhook",
        alertId: alert.id,
        permanent: true,
      }),
    );
    const logText = JSON.stringify(logs);
    expect(logText).not.toContain(URL_TOKEN);
    expect(logText).not.toContain(SECRET.slice("whsec_".length));
    expect(await deliveryCount(metrics, "soc-webhook", "failed")).toBe(1);
    const ledger = new DeliveryLedger(redis, keyspace);
    expect(await redis.exists(ledger.key(id))).toBe(0); // refused: nothing recorded as sent

    hooks.respondWith(() => 200);
    expect(await retryFailedJobs(queues.deliveries, [id, "no-such-delivery"])).toEqual({
      retried: [id],
      missing: ["no-such-delivery"],
    });

    const requests = await hooks.waitFor(2, WAIT_MS);
    expect(requests[1]).toMatchObject({ status: 200, verified: true });
    expect(requests[1]?.headers["webhook-id"]).toBe(id);
    await until("the retried delivery completes", async () => (await queues.deliveries.getCompletedCount()) === 1);
    expect(await listFailedDeliveries(queues.deliveries)).toEqual([]);
    expect(await retryFailedJobs(queues.deliveries, [id])).toEqual({ retried: [], missing: [id] });
    expect(await ledger.sent(id)).toMatchObject({ attempt: 1 });
  });

  it("retries an SMTP server that is down, keeps the delivery, and sends it once the server is back", async () => {
    const port = await closedPort();
    await start({ smtpPort: port });
    const alert = makeAlert({ notify: ["soc-email"] });
    await enqueue(alert);

    await until("the delivery has failed", async () => (await queues.deliveries.getFailedCount()) === 1);
    const [failed] = await listFailedDeliveries(queues.deliveries);
    expect(failed).toMatchObject({ id: deliveryJobId(alert.id, "soc-email"), channel: "soc-email", attempts: 3 });
    expect(failed?.failedReason).toContain(`channel soc-email: cannot reach SMTP 127.0.0.1:${port}`);
    expect(failed?.failedReason).not.toContain("smtp-pass");
    expect(logs.filter((record) => record.level === "warn" && record.channel === "soc-email")).toHaveLength(2);
    expect(JSON.stringify(logs)).not.toContain("smtp-pass");
    expect(await deliveryCount(metrics, "soc-email", "retry")).toBe(2);
    expect(await deliveryCount(metrics, "soc-email", "failed")).toBe(1);

    // A retry gets the full schedule again, not just one more attempt.
    expect(await retryFailedJobs(queues.deliveries, "all")).toEqual({ retried: [failed?.id], missing: [] });
    await until(
      "the retried delivery has failed again",
      async () => (await deliveryCount(metrics, "soc-email", "failed")) === 2,
    );
    expect(await deliveryCount(metrics, "soc-email", "retry")).toBe(4);
    expect((await listFailedDeliveries(queues.deliveries))[0]).toMatchObject({ id: failed?.id, attempts: 3 });

    const revived = await startSmtpSink({ port });
    running.push(revived);
    expect(await retryFailedJobs(queues.deliveries, "all")).toEqual({ retried: [failed?.id], missing: [] });
    const [mail] = await revived.waitFor(1, WAIT_MS);
    expect(mail?.subject).toBe(`[HIGH] ${alert.title}`);
    await until("the retried delivery completes", async () => (await queues.deliveries.getCompletedCount()) === 1);
  });

  it("delivers an alert added twice once per channel", async () => {
    await start();
    const alert = makeAlert();
    await enqueue(alert);
    await enqueue(alert);
    // A second alert job with another id, as if the first had already been removed: delivery ids still collide.
    await enqueue(alert, `${alert.id}-again`);

    await until("both alert jobs are routed", async () => (await queues.alerts.getCompletedCount()) === 2);
    await until(
      "no delivery is pending",
      async () => (await queues.deliveries.getJobCountByTypes("waiting", "active", "delayed", "prioritized")) === 0,
    );
    expect(await queues.deliveries.getCompletedCount()).toBe(2);
    expect(smtp.messages).toHaveLength(1);
    expect(hooks.requests).toHaveLength(1);
  });

  it("does not send a delivery again once the ledger records it as sent, however its job runs again", async () => {
    await start();
    const alert = makeAlert();
    await enqueue(alert);
    const ids = ["soc-email", "soc-webhook"].map((channel) => deliveryJobId(alert.id, channel));
    await until("both deliveries complete", async () => (await queues.deliveries.getCompletedCount()) === 2);

    const ledger = new DeliveryLedger(redis, keyspace);
    for (const id of ids) {
      expect(await ledger.sent(id)).toMatchObject({ attempt: 1, sentAt: expect.stringMatching(/^\d{4}-/) });
      const ttl = await redis.ttl(ledger.key(id));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(DELIVERED_RETENTION_S);
    }

    // Run again under the same job ids (what a retried or re-driven job does).
    for (const id of ids) await (await queues.deliveries.getJob(id))?.retry("completed");
    await until("both re-runs are skipped", async () => (await skippedCount(metrics, "soc-webhook")) === 1);
    await until("the email re-run is skipped", async () => (await skippedCount(metrics, "soc-email")) === 1);

    // The completed jobs gone (removed by hand, or aged out of the queue), the alert routed again.
    for (const id of ids) await (await queues.deliveries.getJob(id))?.remove();
    await enqueue(alert, `${alert.id}-again`);
    await until("the re-added deliveries are skipped", async () => (await skippedCount(metrics, "soc-webhook")) === 2);
    await until("the re-added email is skipped", async () => (await skippedCount(metrics, "soc-email")) === 2);
    await until("both deliveries complete", async () => (await queues.deliveries.getCompletedCount()) === 2);

    expect(smtp.messages).toHaveLength(1);
    expect(hooks.requests).toHaveLength(1);
    expect(await deliveryCount(metrics, "soc-email", "sent")).toBe(1);
    expect(await deliveryCount(metrics, "soc-webhook", "sent")).toBe(1);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: "info",
        component: "notifier.deliveries",
        jobId: ids[1],
        msg: expect.stringContaining("not sent again"),
      }),
    );
  });

  it("does not send again a delivery whose worker lost it after the receiver accepted it", async () => {
    const alert = makeAlert();
    const lockKey = (channel: string) =>
      `${keyspace.queuePrefix}:${QUEUE_NAMES.deliveries}:${deliveryJobId(alert.id, channel)}:lock`;
    // The receivers accept, and the worker's lock is gone before it can complete the job: as if it
    // had been killed between the acceptance and the completion. The job stalls and runs again.
    hooks.respondWith(async () => {
      await redis.del(lockKey("soc-webhook"));
      return 200;
    });
    smtp.rejectWith(() => {
      // Sent before the sink answers 250, so Redis has it before the worker learns of the acceptance.
      void redis.del(lockKey("soc-email"));
      return undefined;
    });
    await start();
    await enqueue(alert);

    await until(
      "both stalled deliveries are run again and skipped",
      async () => {
        return (await skippedCount(metrics, "soc-email")) === 1 && (await skippedCount(metrics, "soc-webhook")) === 1;
      },
      30_000,
    );
    await until("both deliveries complete", async () => (await queues.deliveries.getCompletedCount()) === 2, 30_000);
    expect(smtp.messages).toHaveLength(1);
    expect(hooks.requests).toHaveLength(1);
    expect(await queues.deliveries.getFailedCount()).toBe(0);
  }, 60_000);

  it("fails a job with a broken payload clearly and keeps going", async () => {
    await start();
    // A producer that bypasses the catalog (an older release, a hand-made job): validation on add cannot stop it.
    const unchecked = new Queue(QUEUE_NAMES.alerts, { connection: redis, prefix: keyspace.queuePrefix });
    await unchecked.add("alert", { id: "broken" }, { jobId: "broken" });
    await unchecked.close();
    await expect(queues.alerts.add("alert", { id: "refused" } as unknown as Alert)).rejects.toThrow(
      /^vigil-alerts: invalid payload: ruleId: is required/,
    );
    const alert = makeAlert({ notify: ["soc-webhook"] });
    await enqueue(alert);

    await hooks.waitFor(1, WAIT_MS);
    await until("the broken job has failed", async () => (await queues.alerts.getFailedCount()) === 1);
    const broken = await queues.alerts.getJob("broken");
    expect(broken?.attemptsMade).toBe(1);
    expect(broken?.failedReason).toContain("vigil-alerts job broken: invalid payload: ");
    expect(broken?.failedReason).toContain("ruleId");
  });

  it("fails a delivery to an unknown channel permanently, naming the channel", async () => {
    await start();
    const alert = makeAlert({ notify: ["no-such-channel"] });
    await enqueue(alert);

    await until("the delivery has failed", async () => (await queues.deliveries.getFailedCount()) === 1);
    const [failed] = await listFailedDeliveries(queues.deliveries);
    expect(failed).toMatchObject({
      channel: "no-such-channel",
      attempts: 1,
      failedReason: expect.stringContaining('unknown channel "no-such-channel"'),
    });
  });

  it("routes an alert that matches no route nowhere, without failing it, and records it as unrouted", async () => {
    await start({ routes: [{ match: { severity: ["critical"] }, channels: ["soc-webhook"] }] });
    const alert = makeAlert({ severity: "low" });
    await enqueue(alert);

    await until("the alert job completes", async () => (await queues.alerts.getCompletedCount()) === 1);
    expect((await queues.alerts.getJob(alert.id))?.returnvalue).toEqual({ outcome: "unrouted", channels: [] });
    const history = new AlertHistory(redis, keyspace, { retention: 86_400_000, maxAlerts: 100 });
    expect(await history.get(alert.id)).toMatchObject({ status: "unrouted", entries: [{ kind: "unrouted" }] });
    expect(logs).toContainEqual(
      expect.objectContaining({ level: "warn", component: "notifier.alerts", alertId: alert.id, jobId: alert.id }),
    );
    expect(logs.filter((record) => record.level === "error")).toEqual([]);
    expect(await queues.deliveries.getJobCountByTypes("waiting", "active", "delayed", "completed", "failed")).toBe(0);
  });

  it("lets an in-flight delivery finish when it closes", async () => {
    const inFlight: { answer?: (status: number) => void } = {};
    hooks.respondWith(() => new Promise<number>((resolve) => (inFlight.answer = resolve)));
    const notifier = await start();
    await enqueue(makeAlert({ notify: ["soc-webhook"] }));
    await until("the webhook request is in flight", async () => inFlight.answer !== undefined);

    const closed = notifier.close();
    inFlight.answer?.(200);
    await closed;
    expect(await queues.deliveries.getCompletedCount()).toBe(1);
    expect(hooks.requests.map((request) => request.status)).toEqual([200]);
  });
});
