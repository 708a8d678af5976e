import type { AddressInfo } from "node:net";
import { simpleParser, type AddressObject, type HeaderValue, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerEnvelope } from "smtp-server";
import { Inbox } from "./wait-for.js";

/** One message the SMTP sink accepted, as parsed by mailparser. */
export interface ReceivedMail {
  /** The `From:` header as text, e.g. `Vigil <vigil@example.com>`. */
  from: string;
  /** Addresses of the `To:` header. */
  to: string[];
  subject: string;
  text: string;
  /** The HTML body, or "" when the message has none. */
  html: string;
  /** Lower-case header names mapped to their decoded values. */
  headers: Record<string, string>;
  /** The SMTP envelope (MAIL FROM / RCPT TO), which may differ from the headers. */
  envelope: { from: string | undefined; to: string[] };
  /** The user name the client authenticated with, if it did. */
  authUser: string | undefined;
  /** When the sink took the message (ms since the epoch), just before it answers 250. */
  receivedAt: number;
}

/** An SMTP reply the sink sends instead of accepting a message. */
export interface SmtpRejection {
  /** SMTP response code, e.g. 451 (transient) or 550 (permanent). */
  code: number;
  message?: string;
}

export interface SmtpSinkOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly host: string;
  /** Every accepted message, in arrival order. */
  readonly messages: ReceivedMail[];
  /** The user name of every AUTH the sink received (and accepted), in order: a login sent in cleartext. */
  readonly logins: string[];
  /** Resolves with all messages once at least `count` were accepted; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<ReceivedMail[]>;
  /** Calls `callback` for each message accepted from now on; returns an unsubscribe function. */
  onMessage(callback: (mail: ReceivedMail) => void): () => void;
  /**
   * Fault injection: called for the n-th message (1-based, counting rejected ones);
   * returning a rejection answers DATA with that code instead of accepting. `undefined` accepts.
   */
  rejectWith(decide: ((n: number) => SmtpRejection | undefined) | undefined): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server on 127.0.0.1 for tests and the demo: accepts any login or none over
 * plain TCP (no STARTTLS) and records every message it is sent.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const host = options.host ?? "127.0.0.1";
  const inbox = new Inbox<ReceivedMail>("SMTP sink");
  let decide: ((n: number) => SmtpRejection | undefined) | undefined;
  let received = 0;
  const logins: string[] = [];

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ["STARTTLS"],
    hideSTARTTLS: true,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? "anonymous");
      callback(null, { user: auth.username ?? "anonymous" });
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          received += 1;
          const rejection = decide?.(received);
          if (rejection) {
            const error = Object.assign(new Error(rejection.message ?? "rejected by the SMTP sink"), {
              responseCode: rejection.code,
            });
            callback(error);
            return;
          }
          inbox.push(toReceivedMail(parsed, session.envelope, session.user));
          callback();
        })
        .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.server.off("error", reject);
      resolve();
    });
  });
  // A client dropping its connection mid-session must not crash the test process.
  server.on("error", () => {});
  const { port } = server.server.address() as AddressInfo;

  return {
    port,
    host,
    messages: inbox.items,
    logins,
    waitFor: (count, timeoutMs) => inbox.waitFor(count, timeoutMs),
    onMessage: (callback) => inbox.subscribe(callback),
    rejectWith(next) {
      decide = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function toReceivedMail(parsed: ParsedMail, envelope: SMTPServerEnvelope, authUser: string | undefined): ReceivedMail {
  const headers: Record<string, string> = {};
  for (const [name, value] of parsed.headers) headers[name] = headerText(value);
  return {
    from: parsed.from?.text ?? "",
    to: addresses(parsed.to),
    subject: parsed.subject ?? "",
    text: parsed.text ?? "",
    html: typeof parsed.html === "string" ? parsed.html : "",
    headers,
    envelope: {
      from: envelope.mailFrom === false ? undefined : envelope.mailFrom.address,
      to: envelope.rcptTo.map((rcpt) => rcpt.address),
    },
    authUser,
    receivedAt: Date.now(),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  const objects = Array.isArray(field) ? field : [field];
  return objects.flatMap((object) => object.value.flatMap((address) => (address.address ? [address.address] : [])));
}

function headerText(value: HeaderValue): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => headerText(item)).join(", ");
  if ("text" in value && typeof value.text === "string") return value.text;
  if ("value" in value && typeof value.value === "string") return value.value;
  return JSON.stringify(value);
}
