import { startPagerDutyReceiver, type PagerDutyReceiver } from "@vigil/simulator";
import { singleAlert } from "../channel.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  closedPort,
  describeChannelConformance,
  makeAlert,
  receiverHarness,
  useChannelContext,
} from "@vigil/notifier/testing";
import type { Channel } from "../channel.js";
import { PagerDutyChannel } from "./pagerduty.channel.js";
import { PagerDutyChannelSchema } from "./pagerduty.config.js";

const ROUTING_KEY = "R0UT1NGKEY0000000000000000000001";

describeChannelConformance("pagerduty", {
  messagePerAlert: true,
  rateLimited: true,
  async start() {
    const receiver = await startPagerDutyReceiver({ routingKey: ROUTING_KEY });
    return receiverHarness({
      receiver,
      config: {
        name: "soc-pagerduty",
        type: "pagerduty",
        allowInsecureHttp: true,
        routingKey: ROUTING_KEY,
        url: receiver.url,
        timeout: "5s",
      },
      secrets: [ROUTING_KEY],
      refusals: {
        permanent: { status: 400, body: { status: "invalid event", message: "Event object is invalid" } },
        transient: { status: 500, body: { status: "error" } },
        "rate-limited": { status: 429, headers: { "retry-after": "1" }, body: { status: "throttle event" } },
      },
      delivery: (request) => {
        const event = request.json as { dedup_key: string; payload: { summary: string } };
        return { alertId: event.dedup_key, title: event.payload.summary.replace(/^\[[A-Z]+\] /, "") };
      },
    });
  },
  async unreachable() {
    const url = `http://127.0.0.1:${await closedPort()}/v2/enqueue`;
    return {
      config: { name: "soc-pagerduty", type: "pagerduty", allowInsecureHttp: true, routingKey: ROUTING_KEY, url },
      secrets: [ROUTING_KEY],
    };
  },
});

describe("PagerDutyChannel", () => {
  const context = useChannelContext();
  let receiver: PagerDutyReceiver;
  afterEach(async () => {
    await receiver.close();
  });
  const channel = (): Channel =>
    new PagerDutyChannel(
      PagerDutyChannelSchema.parse({
        name: "pd",
        type: "pagerduty",
        allowInsecureHttp: true,
        routingKey: ROUTING_KEY,
        url: receiver.url,
      }),
      context(),
    );

  it("triggers with the alert id as dedup_key, so a redelivery folds into the same alert", async () => {
    receiver = await startPagerDutyReceiver({ routingKey: ROUTING_KEY });
    const alert = makeAlert({ runbook: "https://runbooks.example.com/r" });
    await channel().send(singleAlert(alert), "d1");
    await channel().send(singleAlert(alert), "d1");
    expect(receiver.requests.map((request) => request.problems)).toEqual([[], []]);
    expect([...receiver.alerts.entries()]).toEqual([[alert.id, { triggers: 2, summary: `[HIGH] ${alert.title}` }]]);
    const event = receiver.requests[0]?.json as { payload: { custom_details: unknown } };
    expect(event).toMatchObject({
      event_action: "trigger",
      payload: {
        severity: "error",
        source: "vigil",
        component: "zendesk",
        group: alert.ruleId,
        timestamp: alert.createdAt,
      },
      links: [{ href: "https://runbooks.example.com/r", text: "Runbook" }],
    });
    expect(event.payload.custom_details).toMatchObject({
      rule: "Mass user deletion (zendesk.mass-user-deletion)",
      group_values: { "actor.id": "u-42" },
      runbook: "https://runbooks.example.com/r",
      show: `vigil alerts show ${alert.id}`,
      evidence: [
        "10 events in 5 m (2026-01-31 12:00:00 UTC to 12:05:00 UTC)",
        "first: 2026-01-31 12:00:10 UTC destroy by agent@example.com on user 7 from 203.0.113.9",
        "last:  2026-01-31 12:00:20 UTC destroy by agent@example.com on user 8",
      ],
    });
  });

  it.each([
    ["critical", "critical"],
    ["high", "error"],
    ["medium", "warning"],
    ["low", "info"],
  ] as const)(
    "maps severity %s to %s, and keeps a long summary within 1024 characters (the title cut at 200, saying how much more)",
    async (severity, mapped) => {
      receiver = await startPagerDutyReceiver({ routingKey: ROUTING_KEY });
      await channel().send(singleAlert(makeAlert({ severity, title: "t".repeat(3_000) })), "d1");
      const event = receiver.requests[0]?.json as { payload: { severity: string; summary: string } };
      expect(receiver.requests[0]?.problems).toEqual([]);
      expect(event.payload.severity).toBe(mapped);
      expect(event.payload.summary.length).toBeLessThanOrEqual(1024);
      expect(event.payload.summary).toMatch(/^\[[A-Z]+\] t{200}… \(2800 more characters\)$/);
    },
  );
});
