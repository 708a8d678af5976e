import { startSlackReceiver, type SlackReceiver } from "@vigil/simulator";
import { singleAlert } from "../channel.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  closedPort,
  describeChannelConformance,
  makeAlert,
  receiverHarness,
  shownAlertId,
  useChannelContext,
} from "@vigil/notifier/testing";
import type { Channel } from "../channel.js";
import { SlackChannel } from "./slack.channel.js";
import { SlackChannelSchema } from "./slack.config.js";

const TOKEN = "xoxb-1111-2222-test-bot-token";

const REFUSALS = {
  permanent: { status: 404, body: "no_service" },
  transient: { status: 500, body: "rollup_error" },
  "rate-limited": { status: 429, headers: { "retry-after": "1" }, body: { ok: false, error: "ratelimited" } },
} as const;

function headerTitle(body: unknown): string {
  const header = (body as { blocks?: { type: string; text?: { text: string } }[] }).blocks?.find(
    (block) => block.type === "header",
  );
  return (header?.text?.text ?? "").replace(/^\[[A-Z]+\] /, "");
}

describeChannelConformance("slack (incoming webhook)", {
  rateLimited: true,
  async start() {
    const receiver = await startSlackReceiver();
    return receiverHarness({
      receiver,
      config: {
        name: "soc-slack",
        type: "slack",
        allowInsecureHttp: true,
        webhookUrl: receiver.webhookUrl,
        timeout: "5s",
      },
      secrets: ["simulated-webhook-secret"],
      refusals: REFUSALS,
      delivery: (request) => ({ alertId: shownAlertId(request.body), title: headerTitle(request.json) }),
    });
  },
  async unreachable() {
    const url = `http://127.0.0.1:${await closedPort()}/services/T1/B1/unreachable-secret`;
    return {
      config: { name: "soc-slack", type: "slack", allowInsecureHttp: true, webhookUrl: url },
      secrets: ["unreachable-secret"],
    };
  },
});

describeChannelConformance("slack (chat.postMessage)", {
  rateLimited: true,
  async start() {
    const receiver = await startSlackReceiver({ token: TOKEN });
    return receiverHarness({
      receiver,
      config: {
        name: "soc-slack-bot",
        type: "slack",
        allowInsecureHttp: true,
        token: TOKEN,
        channel: "C0SOC",
        apiUrl: receiver.apiUrl,
      },
      secrets: [TOKEN],
      refusals: { ...REFUSALS, permanent: { status: 200, body: { ok: false, error: "channel_not_found" } } },
      delivery: (request) => ({ alertId: shownAlertId(request.body), title: headerTitle(request.json) }),
    });
  },
  async unreachable() {
    const apiUrl = `http://127.0.0.1:${await closedPort()}/api`;
    return {
      config: { name: "soc-slack-bot", type: "slack", allowInsecureHttp: true, token: TOKEN, channel: "C0SOC", apiUrl },
      secrets: [TOKEN],
    };
  },
});

describe("SlackChannel", () => {
  const context = useChannelContext();
  let receiver: SlackReceiver;
  afterEach(async () => {
    await receiver.close();
  });
  const botChannel = (name = "soc-slack-bot"): Channel =>
    new SlackChannel(
      SlackChannelSchema.parse({
        name,
        type: "slack",
        allowInsecureHttp: true,
        token: TOKEN,
        channel: "C0SOC",
        apiUrl: receiver.apiUrl,
        rateLimit: { requests: 100, per: "1s" },
      }),
      context(),
    );

  it("posts a group's later alerts in the thread of its first message, other groups on their own", async () => {
    receiver = await startSlackReceiver({ token: TOKEN });
    const channel = botChannel();
    const eve = { "actor.email": "eve@example.com" };
    await channel.send(singleAlert(makeAlert({ groupKey: eve })), "d1");
    await channel.send(singleAlert(makeAlert({ groupKey: eve })), "d2");
    await channel.send(singleAlert(makeAlert({ groupKey: { "actor.email": "bob@example.com" } })), "d3");
    await channel.send(singleAlert(makeAlert({ groupKey: eve })), "d4");

    expect(receiver.requests.every((request) => request.problems.length === 0)).toBe(true);
    const [first, second, other, fourth] = receiver.posted;
    expect(first?.threadTs).toBeUndefined();
    expect(second?.threadTs).toBe(first?.ts);
    expect(other?.threadTs).toBeUndefined();
    expect(fourth?.threadTs).toBe(first?.ts);
    // Another channel keeps threads of its own.
    await botChannel("other-slack").send(singleAlert(makeAlert({ groupKey: eve })), "d5");
    expect(receiver.posted[4]?.threadTs).toBeUndefined();
  });

  it("posts a route group's notifications as one message each, the group's later ones in the thread of its first", async () => {
    receiver = await startSlackReceiver({ token: TOKEN });
    const channel = botChannel();
    const group = (labels: Record<string, unknown>) => ({ route: "slack", labels });
    const eve = group({ ruleId: "zendesk.mass-user-deletion", "actor.email": "eve@example.com" });
    const burst = [makeAlert(), makeAlert({ title: "second" }), makeAlert({ title: "third" })] as const;
    await channel.send({ id: "g-eve-0", alerts: [...burst], group: eve }, "g-eve-0-slack");
    await channel.send(
      { id: "g-bob-0", alerts: [makeAlert()], group: group({ "actor.email": "bob@example.com" }) },
      "g-bob-0-slack",
    );
    const later = makeAlert({ title: "later" });
    await channel.send({ id: "g-eve-1", alerts: [later], group: eve }, "g-eve-1-slack");

    expect(receiver.requests.map((request) => request.problems)).toEqual([[], [], []]);
    const [first, bob, third] = receiver.posted;
    expect(first?.threadTs).toBeUndefined();
    expect(bob?.threadTs).toBeUndefined();
    expect(third?.threadTs).toBe(first?.ts);
    const firstText = JSON.stringify(first?.message);
    expect(firstText).toContain("3 alert(s) for route slack");
    for (const alert of burst) expect(firstText).toContain(`vigil alerts show ${alert.id}`);
    expect(JSON.stringify(third?.message)).toContain(`vigil alerts show ${later.id}`);
  });

  it("keeps a group of 60 alerts within Block Kit's 50 blocks, counting those it does not show", async () => {
    receiver = await startSlackReceiver({ token: TOKEN });
    const alerts = Array.from({ length: 60 }, (_, i) => makeAlert({ title: `alert ${i}` }));
    await botChannel().send(
      { id: "g-big-0", alerts: [alerts[0]!, ...alerts.slice(1)], group: { route: "r", labels: {} } },
      "g-big-0",
    );
    const [request] = receiver.requests;
    expect(request?.problems).toEqual([]);
    const blocks = (request?.json as { blocks?: unknown[] } | undefined)?.blocks ?? [];
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(blocks)).toContain("40 more alert(s) in this group");
  });

  it("keeps a huge alert within Block Kit's documented limits", async () => {
    receiver = await startSlackReceiver({ token: TOKEN });
    const long = "x".repeat(5_000);
    const alert = makeAlert({
      title: `${long} title`,
      description: long,
      groupKey: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`field${i}`, long])),
      events: Array.from({ length: 50 }, (_, i) => ({
        id: `e${i}`,
        time: "2026-01-31T12:00:00Z",
        action: long,
        link: `https://example.com/${"p".repeat(3_100)}`,
      })),
      runbook: "https://runbooks.example.com/x",
    });
    await botChannel().send(singleAlert(alert), "d1");
    expect(receiver.requests.map((request) => request.problems)).toEqual([[]]);
    expect(receiver.accepted()).toHaveLength(1);
  });

  it("escapes Slack's mrkdwn control characters", async () => {
    receiver = await startSlackReceiver({ token: TOKEN });
    await botChannel().send(singleAlert(makeAlert({ description: "<!channel> & <https://evil.example|click>" })), "d1");
    expect(receiver.requests[0]?.body).toContain("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
    expect(receiver.requests[0]?.body).not.toContain("<!channel>");
  });
});

describe("SlackChannelSchema", () => {
  it("refuses a config with neither a webhook nor a token and channel, or both", () => {
    expect(() => SlackChannelSchema.parse({ name: "s", type: "slack" })).toThrow(/webhookUrl, or token and channel/);
    expect(() => SlackChannelSchema.parse({ name: "s", type: "slack", allowInsecureHttp: true, token: TOKEN })).toThrow(
      /channel/,
    );
    expect(() =>
      SlackChannelSchema.parse({
        name: "s",
        type: "slack",
        allowInsecureHttp: true,
        webhookUrl: "https://hooks.slack.com/x",
        token: TOKEN,
        channel: "C1",
      }),
    ).toThrow(/not both/);
  });
});
