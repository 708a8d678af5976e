import { createTransport } from "nodemailer";
import { afterEach, describe, expect, it } from "vitest";
import { startSmtpSink, type SmtpSink } from "./smtp.sink.js";

describe("startSmtpSink", () => {
  let sink: SmtpSink;
  afterEach(async () => {
    await sink.close();
  });

  const transportTo = (target: SmtpSink, auth?: { user: string; pass: string }) =>
    createTransport({ host: target.host, port: target.port, secure: false, ...(auth ? { auth } : {}) });

  it("accepts a message without login and parses it", async () => {
    sink = await startSmtpSink();
    await transportTo(sink).sendMail({
      from: "Vigil <vigil@example.com>",
      to: ["soc@example.com", "oncall@example.com"],
      subject: "[HIGH] Mass deletion – ünïcode",
      text: "plain body",
      html: "<p>html body</p>",
      headers: { "X-Vigil-Alert-Id": "alert-1" },
    });

    const [mail] = await sink.waitFor(1, 5_000);
    expect(mail).toMatchObject({
      from: '"Vigil" <vigil@example.com>',
      to: ["soc@example.com", "oncall@example.com"],
      subject: "[HIGH] Mass deletion – ünïcode",
      text: "plain body",
      html: "<p>html body</p>",
      envelope: { from: "vigil@example.com", to: ["soc@example.com", "oncall@example.com"] },
      authUser: undefined,
    });
    expect(mail?.headers["x-vigil-alert-id"]).toBe("alert-1");
    expect(sink.messages).toHaveLength(1);
  });

  it("accepts any login over plain TCP", async () => {
    sink = await startSmtpSink();
    await transportTo(sink, { user: "alice", pass: "anything" }).sendMail({
      from: "a@example.com",
      to: "b@example.com",
      subject: "s",
      text: "t",
    });
    const [mail] = await sink.waitFor(1, 5_000);
    expect(mail?.authUser).toBe("alice");
  });

  it("rejects messages with the injected SMTP reply and records only accepted ones", async () => {
    sink = await startSmtpSink();
    sink.rejectWith((n) => (n === 1 ? { code: 550, message: "mailbox unavailable" } : undefined));
    const transport = transportTo(sink);
    const message = { from: "a@example.com", to: "b@example.com", subject: "s", text: "t" };

    await expect(transport.sendMail(message)).rejects.toMatchObject({ responseCode: 550 });
    await transport.sendMail(message);

    await sink.waitFor(1, 5_000);
    expect(sink.messages).toHaveLength(1);
  });

  it("tells every onMessage subscriber until it unsubscribes", async () => {
    sink = await startSmtpSink();
    const subjects: string[] = [];
    const stop = sink.onMessage((mail) => subjects.push(mail.subject));
    const transport = transportTo(sink);
    await transport.sendMail({ from: "a@example.com", to: "b@example.com", subject: "first", text: "t" });
    stop();
    await transport.sendMail({ from: "a@example.com", to: "b@example.com", subject: "second", text: "t" });
    await sink.waitFor(2, 5_000);
    expect(subjects).toEqual(["first"]);
  });

  it("waitFor rejects with a clear message when too few messages arrive", async () => {
    sink = await startSmtpSink();
    await expect(sink.waitFor(1, 50)).rejects.toThrow("SMTP sink: expected 1 within 50ms, received 0");
  });
});
