import { startSmtpSink } from "@vigil/simulator";
import { afterEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import { closedPort, describeChannelConformance, makeAlert, type Refusal, rejectionOf } from "@vigil/notifier/testing";
import { EmailChannel } from "./email.channel.js";
import { EmailChannelSchema, type EmailChannelConfig } from "./email.config.js";

const PASSWORD = "hunter2-smtp-password";

function emailInput(port: number, overrides: Partial<z.input<typeof EmailChannelSchema>["smtp"]> = {}) {
  return {
    name: "soc-email",
    type: "email",
    from: "Vigil <vigil@example.com>",
    to: ["soc@example.com", "oncall@example.com"],
    smtp: { host: "127.0.0.1", port, timeout: "5s", auth: { user: "vigil", pass: PASSWORD }, ...overrides },
  };
}

function emailConfig(
  port: number,
  overrides: Partial<z.input<typeof EmailChannelSchema>["smtp"]> = {},
): EmailChannelConfig {
  return EmailChannelSchema.parse(emailInput(port, overrides));
}

describeChannelConformance("email", {
  rateLimited: false,
  async start() {
    const sink = await startSmtpSink();
    let refusal: Refusal | undefined;
    let refusedAt: number | undefined;
    sink.rejectWith(() => {
      const kind = refusal;
      refusal = undefined;
      if (kind) refusedAt = Date.now();
      if (kind === "permanent") return { code: 554, message: "transaction failed" };
      if (kind === "transient") return { code: 451, message: "try again later" };
      return undefined;
    });
    return {
      config: emailInput(sink.port),
      secrets: [PASSWORD],
      refuseNext(kind) {
        refusal = kind;
      },
      lastRefusalAt: () => refusedAt,
      async waitForAccepted(count, timeoutMs) {
        const mails = await sink.waitFor(count, timeoutMs);
        return mails.map((mail) => ({
          deliveryId: mail.headers["x-vigil-delivery-id"] ?? "",
          alertId: mail.headers["x-vigil-alert-id"] ?? "",
          title: mail.subject.replace(/^\[[A-Z]+\] /, ""),
          receivedAt: Date.now(),
        }));
      },
      close: () => sink.close(),
    };
  },
  async unreachable() {
    return { config: emailInput(await closedPort()), secrets: [PASSWORD] };
  },
});

describe("EmailChannel", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  it("sends subject, text and HTML to every recipient, logged in with the configured user", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    const alert = makeAlert({ title: "<b>bold</b> move" });

    await channel.send(alert, `${alert.id}-soc-email`);
    const [mail] = await sink.waitFor(1, 5_000);

    expect(mail).toMatchObject({
      subject: "[HIGH] <b>bold</b> move",
      to: ["soc@example.com", "oncall@example.com"],
      envelope: { from: "vigil@example.com", to: ["soc@example.com", "oncall@example.com"] },
      authUser: "vigil",
    });
    expect(mail?.text).toContain("Rule:     Mass user deletion (zendesk.mass-user-deletion)");
    expect(mail?.text).toContain("<b>bold</b> move");
    expect(mail?.html).toContain("&lt;b&gt;bold&lt;&#x2F;b&gt; move");
    expect(mail?.headers["x-vigil-rule-id"]).toBe("zendesk.mass-user-deletion");
  });

  it("gives the same Message-ID to a resent delivery", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    const alert = makeAlert();
    await channel.send(alert, "delivery-a");
    await channel.send(alert, "delivery-a");
    await channel.send(alert, "delivery-b");

    const mails = await sink.waitFor(3, 5_000);
    const ids = mails.map((mail) => mail.headers["message-id"]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it("treats a 4xx reply as retryable and a 5xx reply as permanent, naming the server", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    sink.rejectWith((n) => (n === 1 ? { code: 452, message: "mailbox full" } : { code: 550, message: "no such user" }));

    await expect(channel.send(makeAlert(), "d")).rejects.toMatchObject({
      permanent: false,
      message: expect.stringMatching(`^channel soc-email: SMTP 127.0.0.1:${sink.port} answered 452`),
    });
    await expect(channel.send(makeAlert(), "d")).rejects.toMatchObject({
      permanent: true,
      message: expect.stringContaining("550"),
    });
  });

  it("reports a closed port without the password", async () => {
    const port = await closedPort();
    const channel = new EmailChannel(emailConfig(port));
    cleanups.push(() => channel.close());
    const err = await rejectionOf(channel.send(makeAlert(), "d"));
    expect(err.message).toContain(`cannot reach SMTP 127.0.0.1:${port}`);
    expect(err.message).not.toContain(PASSWORD);
  });
});
