import { startTeamsReceiver, type TeamsReceiver } from "@vigil/simulator";
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
import { TEAMS_MAX_MESSAGE_BYTES } from "./teams.card.js";
import { TeamsChannel } from "./teams.channel.js";
import { TeamsChannelSchema } from "./teams.config.js";

/** The card's first TextBlock is the headline; Markdown escapes undone. */
function cardTitle(json: unknown): string {
  const card = (json as { attachments: { content: { body: { text: string }[] } }[] }).attachments[0]?.content;
  return (card?.body[0]?.text ?? "").replace(/\\(.)/g, "$1").replace(/^[A-Z]+ · /, "");
}

describeChannelConformance("teams", {
  rateLimited: true,
  async start() {
    const receiver = await startTeamsReceiver();
    return receiverHarness({
      receiver,
      config: { name: "soc-teams", type: "teams", allowInsecureHttp: true, url: receiver.url, timeout: "5s" },
      secrets: ["simulated-signature"],
      refusals: {
        permanent: { status: 400, body: { error: { code: "InvalidRequestContent" } } },
        transient: { status: 502, body: { error: { code: "BadGateway" } } },
        "rate-limited": { status: 429, headers: { "retry-after": "1" }, body: { error: { code: "TooManyRequests" } } },
      },
      delivery: (request) => ({ alertId: shownAlertId(request.body), title: cardTitle(request.json) }),
    });
  },
  async unreachable() {
    const url = `http://127.0.0.1:${await closedPort()}/workflows/1/invoke?sig=unreachable-signature`;
    return {
      config: { name: "soc-teams", type: "teams", allowInsecureHttp: true, url },
      secrets: ["unreachable-signature"],
    };
  },
});

describe("TeamsChannel", () => {
  const context = useChannelContext();
  let receiver: TeamsReceiver;
  afterEach(async () => {
    await receiver.close();
  });

  it("keeps a huge alert's card within Teams' 28 KB, with its headline and commands", async () => {
    receiver = await startTeamsReceiver();
    const channel = new TeamsChannel(
      TeamsChannelSchema.parse({ name: "t", type: "teams", allowInsecureHttp: true, url: receiver.url }),
      context(),
    );
    const long = "y".repeat(6_000);
    const alert = makeAlert({
      description: long,
      groupKey: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, long])),
      events: Array.from({ length: 10 }, (_, i) => ({ id: `e${i}`, time: "2026-01-31T12:00:00Z", action: long })),
    });
    await channel.send(singleAlert(alert));
    const [request] = receiver.requests;
    expect(request?.problems).toEqual([]);
    expect(request?.status).toBe(202);
    expect(Buffer.byteLength(request?.body ?? "")).toBeLessThanOrEqual(TEAMS_MAX_MESSAGE_BYTES);
    expect(request?.body).toContain(`vigil alerts show ${alert.id}`);
    expect(request?.body).toContain("vigil silence add --match ruleId=zendesk.mass-user-deletion");
  });

  it("escapes brackets so an audit-log value cannot become a Markdown link in the card", async () => {
    receiver = await startTeamsReceiver();
    const channel = new TeamsChannel(
      TeamsChannelSchema.parse({ name: "t", type: "teams", allowInsecureHttp: true, url: receiver.url }),
      context(),
    );
    await channel.send(singleAlert(makeAlert({ title: "[reset your password](https://evil.example)" })));
    const body = receiver.requests[0]?.json as { attachments: { content: { body: { text: string }[] } }[] };
    expect(body.attachments[0]?.content.body[0]?.text).toBe("HIGH · \\[reset your password\\](https://evil.example)");
  });

  it("is refused by the receiver when a message is over 28 KB (the check the channel relies on)", async () => {
    receiver = await startTeamsReceiver();
    const response = await fetch(receiver.url, {
      method: "POST",
      body: JSON.stringify({ type: "message", attachments: [], pad: "z".repeat(TEAMS_MAX_MESSAGE_BYTES) }),
    });
    expect(response.status).toBe(413);
  });
});
