import { createHash } from "node:crypto";
import { createTransport, type Transporter } from "nodemailer";
import { DeliveryError } from "@vigil/core";
import { renderNotificationEmail } from "./alert-email.template.js";
import type { Channel, Notification } from "../channel.js";
import type { EmailChannelConfig } from "./email.config.js";

/** Error codes nodemailer gives when it could not reach or keep talking to the server. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
]);

/** Sends alerts by SMTP through one nodemailer transport per channel. */
export class EmailChannel implements Channel {
  readonly name: string;
  private readonly transport: Transporter;
  private readonly server: string;

  constructor(private readonly config: EmailChannelConfig) {
    this.name = config.name;
    const { smtp } = config;
    this.server = `${smtp.host}:${smtp.port}`;
    this.transport = createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      // STARTTLS before anything else, or the login and the alerts would travel in cleartext.
      requireTLS: !smtp.secure && !smtp.allowPlaintext,
      auth: smtp.auth ? { user: smtp.auth.user, pass: smtp.auth.pass } : undefined,
      tls: smtp.insecure ? { rejectUnauthorized: false } : undefined,
      connectionTimeout: smtp.timeout,
      greetingTimeout: smtp.timeout,
      socketTimeout: smtp.timeout,
      logger: false,
      debug: false,
    });
  }

  async send(notification: Notification, deliveryId: string): Promise<string | undefined> {
    const email = renderNotificationEmail(notification);
    const [alert] = notification.alerts;
    try {
      const info: { response?: unknown } = await this.transport.sendMail({
        from: this.config.from,
        to: this.config.to,
        subject: email.subject,
        text: email.text,
        html: email.html,
        // Stable per delivery, so mail clients thread or drop a resent duplicate.
        messageId: `<${createHash("sha256").update(deliveryId).digest("hex").slice(0, 40)}@vigil>`,
        headers: {
          "X-Vigil-Alert-Id": alert.id,
          "X-Vigil-Alert-Ids": notification.alerts.map((each) => each.id).join(", "),
          "X-Vigil-Rule-Id": alert.ruleId,
          "X-Vigil-Notification-Id": notification.id,
          "X-Vigil-Delivery-Id": deliveryId,
        },
      });
      return typeof info.response === "string" ? this.scrub(info.response) : undefined;
    } catch (err) {
      throw this.toDeliveryError(err);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }

  /** Only the server, codes and the server's reply go into the message: never the login. */
  private toDeliveryError(err: unknown): DeliveryError {
    const { code, responseCode, response } = (err ?? {}) as {
      code?: unknown;
      responseCode?: unknown;
      response?: unknown;
    };
    const reply = typeof response === "string" ? `: ${this.scrub(response)}` : "";
    if (code === "ETLS") {
      return new DeliveryError(
        this.name,
        `SMTP ${this.server} did not start TLS (${typeof response === "string" ? `STARTTLS answered: ${this.scrub(response)}` : err instanceof Error ? this.scrub(err.message) : "no reason given"}); nothing was sent. The channel requires TLS: set smtp.secure for implicit TLS, or smtp.allowPlaintext for a local relay`,
        true,
        { cause: err },
      );
    }
    if (typeof responseCode === "number") {
      const permanent = responseCode >= 500;
      return new DeliveryError(this.name, `SMTP ${this.server} answered ${responseCode}${reply}`, permanent, {
        cause: err,
      });
    }
    const codeText = typeof code === "string" ? code : "no code";
    const what = NETWORK_ERROR_CODES.has(codeText) ? "cannot reach" : "failed talking to";
    const detail = err instanceof Error ? `: ${this.scrub(err.message)}` : "";
    return new DeliveryError(this.name, `${what} SMTP ${this.server} (${codeText})${detail}`, false, { cause: err });
  }

  /** Bounds a server- or library-written text and makes sure it cannot carry the password. */
  private scrub(text: string): string {
    const pass = this.config.smtp.auth?.pass;
    const oneLine = text.replace(/\s+/g, " ").slice(0, 200);
    return pass ? oneLine.replaceAll(pass, "[redacted]") : oneLine;
  }
}
