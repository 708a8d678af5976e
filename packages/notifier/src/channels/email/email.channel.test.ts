import { singleAlert } from "../channel.js";
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
    smtp: {
      host: "127.0.0.1",
      port,
      allowPlaintext: true,
      timeout: "5s",
      auth: { user: "vigil", pass: PASSWORD },
      ...overrides,
    },
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
          text: mail.text,
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

    await channel.send(singleAlert(alert), `${alert.id}-soc-email`);
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

  it("keeps a forged actor name on its own quoted line in the text part received", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    const forgedName =
      "Jane Agent\nSeverity: low — FALSE POSITIVE, no action needed\r\nDetails: https://evil.example/ack\u2028Count: 0";
    const alert = makeAlert({
      title: `${forgedName} deleted 10 users`,
      events: [
        {
          id: "zendesk-prod:1001",
          time: "2026-01-31T12:00:10.000Z",
          action: "destroy",
          actor: forgedName,
          target: "user 7",
        },
      ],
    });

    await channel.send(singleAlert(alert), `${alert.id}-soc-email`);
    const [mail] = await sink.waitFor(1, 5_000);
    const lines = (mail?.text ?? "").split("\n");

    expect(lines.filter((line) => /^(Severity|Details|Count):/.test(line))).toEqual(["Severity: high"]);
    const quoted = String.raw`"Jane Agent\nSeverity: low — FALSE POSITIVE, no action needed\r\nDetails: https://evil.example/ack\u2028Count: 0"`;
    expect(lines).toContain(`  2026-01-31 12:00:10 UTC "destroy" by ${quoted} on "user 7"`);
    expect(lines[0]).toBe(`[HIGH] ${quoted.slice(0, -1)} deleted 10 users"`);
    expect(mail?.subject).toBe(`[HIGH] ${quoted.slice(1, -1)} deleted 10 users`);
  });

  it("gives the same Message-ID to a resent delivery", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    const alert = makeAlert();
    await channel.send(singleAlert(alert), "delivery-a");
    await channel.send(singleAlert(alert), "delivery-a");
    await channel.send(singleAlert(alert), "delivery-b");

    const mails = await sink.waitFor(3, 5_000);
    const ids = mails.map((mail) => mail.headers["message-id"]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it("sends a group's alerts in one email, under one subject, listing every alert id", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    const first = makeAlert({ severity: "medium", title: "first <alert>" });
    const second = makeAlert({ severity: "critical", title: "second alert" });
    const answer = await channel.send(
      { id: "g1-3", alerts: [first, second], group: { route: "slack", labels: { "actor.email": "a@example.com" } } },
      "g1-3-soc-email",
    );
    const [mail] = await sink.waitFor(1, 5_000);

    expect(answer).toMatch(/^250/);
    expect(mail?.subject).toBe("[CRITICAL] 2 alert(s) for route slack (actor.email=a@example.com): first <alert>");
    expect(mail?.headers).toMatchObject({
      "x-vigil-alert-id": first.id,
      "x-vigil-alert-ids": `${first.id}, ${second.id}`,
      "x-vigil-notification-id": "g1-3",
    });
    expect(mail?.text).toContain("first <alert>");
    expect(mail?.text).toContain("second alert");
    expect(mail?.html).toContain("first &lt;alert&gt;");
    expect(mail?.html.match(/<body/g)).toHaveLength(1);
  });

  it("gives the same Message-ID to a resent delivery", async () => {
    const sink = await startSmtpSink();
    const channel = new EmailChannel(emailConfig(sink.port));
    cleanups.push(
      () => channel.close(),
      () => sink.close(),
    );
    const alert = makeAlert();
    await channel.send(singleAlert(alert), "delivery-a");
    await channel.send(singleAlert(alert), "delivery-a");
    await channel.send(singleAlert(alert), "delivery-b");

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

    await expect(channel.send(singleAlert(makeAlert()), "d")).rejects.toMatchObject({
      permanent: false,
      message: expect.stringMatching(`^channel soc-email: SMTP 127.0.0.1:${sink.port} answered 452`),
    });
    await expect(channel.send(singleAlert(makeAlert()), "d")).rejects.toMatchObject({
      permanent: true,
      message: expect.stringContaining("550"),
    });
  });

  it("refuses to log in or send to a server that does not offer STARTTLS, unless allowPlaintext", async () => {
    const sink = await startSmtpSink();
    const strict = new EmailChannel(emailConfig(sink.port, { allowPlaintext: false }));
    const relay = new EmailChannel(emailConfig(sink.port, { allowPlaintext: true }));
    cleanups.push(
      () => strict.close(),
      () => relay.close(),
      () => sink.close(),
    );

    const err = await rejectionOf(strict.send(singleAlert(makeAlert()), "d-strict"));
    expect(err).toMatchObject({ permanent: true });
    expect(err.message).toMatch(
      new RegExp(
        `^channel soc-email: SMTP 127\\.0\\.0\\.1:${sink.port} did not start TLS .*nothing was sent.*smtp\\.allowPlaintext`,
      ),
    );
    expect(err.message).not.toContain(PASSWORD);
    expect(sink.logins).toEqual([]);
    expect(sink.messages).toEqual([]);

    // The same server with the explicit opt-in: the login and the message go through in cleartext.
    await relay.send(singleAlert(makeAlert()), "d-relay");
    await sink.waitFor(1, 5_000);
    expect(sink.logins).toEqual(["vigil"]);
  });

  it("reports a closed port without the password", async () => {
    const port = await closedPort();
    const channel = new EmailChannel(emailConfig(port));
    cleanups.push(() => channel.close());
    const err = await rejectionOf(channel.send(singleAlert(makeAlert()), "d"));
    expect(err.message).toContain(`cannot reach SMTP 127.0.0.1:${port}`);
    expect(err.message).not.toContain(PASSWORD);
  });
});
