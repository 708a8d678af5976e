import { singleAlert } from "../channel.js";
import type { Alert } from "@vigil/core";
import { startWebhookSink, type WebhookSink } from "@vigil/simulator";
import { afterEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  closedPort,
  describeChannelConformance,
  makeAlert,
  type Refusal,
  rejectionOf,
  useChannelContext,
} from "@vigil/notifier/testing";
import { WebhookChannel } from "./webhook.channel.js";
import { WebhookChannelSchema, type WebhookChannelConfig } from "./webhook.config.js";

const SECRET = `whsec_${Buffer.from("webhook-channel-test-key-0123456").toString("base64")}`;
const URL_TOKEN = "query-token-s3cr3t";

function webhookInput(url: string, overrides: Partial<z.input<typeof WebhookChannelSchema>> = {}) {
  return {
    name: "soc-webhook",
    type: "webhook",
    url,
    allowInsecureHttp: true,
    secret: SECRET,
    timeout: "5s",
    ...overrides,
  };
}

function webhookConfig(
  url: string,
  overrides: Partial<z.input<typeof WebhookChannelSchema>> = {},
): WebhookChannelConfig {
  return WebhookChannelSchema.parse(webhookInput(url, overrides));
}

describeChannelConformance("webhook", {
  rateLimited: true,
  async start() {
    const sink = await startWebhookSink({ secret: SECRET });
    let refusal: Refusal | undefined;
    let refusedAt: number | undefined;
    sink.respondWith(() => {
      const kind = refusal;
      refusal = undefined;
      if (kind) refusedAt = Date.now();
      return kind === "permanent"
        ? 400
        : kind === "transient"
          ? 503
          : kind === "rate-limited"
            ? { status: 429, headers: { "retry-after": "1" } }
            : 200;
    });
    return {
      config: webhookInput(`${sink.url}?token=${URL_TOKEN}`),
      secrets: [SECRET, SECRET.slice("whsec_".length), URL_TOKEN],
      refuseNext(kind) {
        refusal = kind;
      },
      lastRefusalAt: () => refusedAt,
      async waitForAccepted(count, timeoutMs) {
        const acceptedSoFar = () => sink.requests.filter((request) => request.status === 200);
        const deadline = Date.now() + timeoutMs;
        while (acceptedSoFar().length < count) {
          await sink.waitFor(sink.requests.length + 1, Math.max(1, deadline - Date.now()));
        }
        const accepted = acceptedSoFar();
        expect(accepted.every((request) => request.verified)).toBe(true);
        return accepted.map((request) => {
          const alert = request.json as Alert;
          return {
            deliveryId: request.headers["webhook-id"] ?? "",
            alertId: alert.id,
            title: alert.title,
            receivedAt: request.receivedAt,
            text: request.body,
          };
        });
      },
      close: () => sink.close(),
    };
  },
  async unreachable() {
    return {
      config: webhookInput(`http://127.0.0.1:${await closedPort()}/hooks?token=${URL_TOKEN}`),
      secrets: [SECRET, URL_TOKEN],
    };
  },
});

describe("WebhookChannelSchema", () => {
  it("refuses a body template that does not parse when the config loads", () => {
    expect(() => webhookConfig("https://hooks.example.com/x", { body: '{"a": "{{#title}}"}' })).toThrow(
      /not a Mustache template/,
    );
  });
});

describe("WebhookChannel", () => {
  const context = useChannelContext();
  let sink: WebhookSink;
  afterEach(async () => {
    await sink.close();
  });

  it("POSTs the alert as signed JSON with the channel's extra headers", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    const channel = new WebhookChannel(
      webhookConfig(sink.url, { headers: { "x-team": "soc", "Content-Type": "text/plain", "webhook-id": "forged" } }),
      context(),
    );
    const alert = makeAlert();

    await channel.send(singleAlert(alert), `${alert.id}-soc-webhook`);
    const [request] = await sink.waitFor(1, 5_000);

    expect(request).toMatchObject({ method: "POST", path: "/hooks", verified: true, json: alert });
    expect(request?.headers).toMatchObject({
      "content-type": "application/json",
      "x-team": "soc",
      "webhook-id": `${alert.id}-soc-webhook`,
    });
    expect(Number(request?.headers["webhook-timestamp"])).toBeGreaterThan(1_700_000_000);
  });

  it("POSTs a group's notification as { id, route, group, alerts }, and answers with the receiver's status", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    const channel = new WebhookChannel(webhookConfig(sink.url), context());
    const alerts = [makeAlert(), makeAlert({ title: "second" })] as const;
    const answer = await channel.send(
      { id: "g1-0", alerts: [...alerts], group: { route: "routes.0", labels: { ruleId: alerts[0].ruleId } } },
      "g1-0-soc-webhook",
    );
    const [request] = await sink.waitFor(1, 5_000);
    expect(answer).toBe("200 OK");
    expect(request).toMatchObject({
      verified: true,
      json: { id: "g1-0", route: "routes.0", group: { ruleId: alerts[0].ruleId }, alerts },
      headers: { "webhook-id": "g1-0-soc-webhook" },
    });
  });

  it("sends the body and headers its templates make, JSON-escaped, still signed", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    const channel = new WebhookChannel(
      webhookConfig(sink.url, {
        headers: { "x-vigil-rule": "{{ruleId}}", "x-title": "{{title}}" },
        body: '{"summary": "{{title}}", "severity": "{{severity}}", "count": {{count}}, "silence": "{{message.next.silence}}", "user": "{{groupKey.actor}}"}',
      }),
      context(),
    );
    const title = 'eve "the admin" deleted\n10 users \\ <b>';
    const alert = makeAlert({ title, groupKey: { actor: "eve@example.com" } });

    await channel.send(singleAlert(alert), "d-1");
    const [request] = await sink.waitFor(1, 5_000);

    expect(request).toMatchObject({ verified: true, status: 200 });
    expect(request?.json).toEqual({
      summary: title,
      severity: "high",
      count: 10,
      silence: `vigil silence add --match ruleId=zendesk.mass-user-deletion --match actor=eve@example.com --for 2h --reason "…"`,
      user: "eve@example.com",
    });
    expect(request?.headers).toMatchObject({
      "content-type": "application/json",
      "x-vigil-rule": "zendesk.mass-user-deletion",
      "x-title": 'eve "the admin" deleted 10 users \\ <b>',
    });
  });

  it.each([
    [404, true],
    [401, true],
    [422, true],
    [408, false],
    [429, false],
    [500, false],
    [502, false],
  ])("treats status %i as permanent=%s", async (status, permanent) => {
    sink = await startWebhookSink({ secret: SECRET });
    sink.respondWith(() => status);
    const channel = new WebhookChannel(webhookConfig(`${sink.url}?token=${URL_TOKEN}`), context());

    const err = await rejectionOf(channel.send(singleAlert(makeAlert()), "d"));
    expect(err).toMatchObject({ permanent, channel: "soc-webhook" });
    expect(err.message).toContain(`channel soc-webhook: webhook 127.0.0.1:${sink.port} answered ${status}`);
    expect(err.message).not.toContain(URL_TOKEN);
    expect(err.message).not.toContain(SECRET.slice("whsec_".length));
  });

  it("gives up on a slow receiver after the channel's timeout, as retryable", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    sink.respondWith(() => new Promise<number>((resolve) => setTimeout(() => resolve(200), 2_000)));
    const channel = new WebhookChannel(webhookConfig(sink.url, { timeout: "100ms" }), context());

    await expect(channel.send(singleAlert(makeAlert()), "d")).rejects.toMatchObject({
      permanent: false,
      message: `channel soc-webhook: webhook 127.0.0.1:${sink.port} did not answer within 100ms`,
    });
  });
});
