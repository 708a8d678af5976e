import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { errorMessage } from "@vigil/core";
import { Inbox } from "../sinks/wait-for.js";

/** One request a receiver took, with what it found wrong in it and how it answered. */
export interface ReceivedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
  /** Where the request breaks the provider's documented required fields and limits (empty: none). */
  problems: string[];
  status: number;
  /** Whether the provider would have taken it: no problems and a successful answer. */
  accepted: boolean;
  /** What the receiver answered (the body as sent). */
  answer: string;
  receivedAt: number;
}

/** An answer: status, extra headers, and a body (JSON-encoded unless a string). */
export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

type Incoming = Omit<ReceivedRequest, "status" | "answer" | "receivedAt" | "problems" | "accepted">;

/** What one provider's receiver does with a request: find its problems and answer as the provider would. */
export interface ReceiverBehaviour {
  /** The provider's name, for error messages. */
  name: string;
  /** Problems with a request, as the provider's documentation defines them. */
  validate(request: Incoming): string[];
  /** The provider's answer to a request: `problems` is what `validate` found. */
  answer(request: Incoming, problems: string[]): ReceiverAnswer;
  /** Whether an answer means success (default: a 2xx status); Slack's Web API also says `ok: false` with a 200. */
  isSuccess?(answer: ReceiverAnswer): boolean;
}

export interface HttpReceiver {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  readonly port: number;
  readonly requests: ReceivedRequest[];
  /** Resolves with all requests once at least `count` arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<ReceivedRequest[]>;
  /** Requests the receiver accepted (a successful answer and no problems), in arrival order. */
  accepted(): ReceivedRequest[];
  /** Resolves with the accepted requests once there are at least `count`; rejects after `timeoutMs`. */
  waitForAccepted(count: number, timeoutMs: number): Promise<ReceivedRequest[]>;
  /** When the receiver last answered with a failure (ms since the epoch). */
  lastRefusalAt(): number | undefined;
  /** Calls `callback` for each request from now on; returns an unsubscribe function. */
  onRequest(callback: (request: ReceivedRequest) => void): () => void;
  /** Fault injection: answer the next request this way instead (a 500, a 429 with Retry-After, …). */
  failNext(answer: ReceiverAnswer): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for a notification provider (Slack, Teams, PagerDuty): it
 * checks every request against the provider's documented fields and limits, records it with its
 * problems, and answers as the provider does, so a channel test fails on a malformed message.
 */
export async function startHttpReceiver(behaviour: ReceiverBehaviour): Promise<HttpReceiver> {
  const inbox = new Inbox<ReceivedRequest>(`${behaviour.name} receiver`);
  const injected: ReceiverAnswer[] = [];

  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const request = describeRequest(req, body);
        const problems = behaviour.validate(request);
        const reply = injected.shift() ?? behaviour.answer(request, problems);
        const answer = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? {});
        const success = behaviour.isSuccess?.(reply) ?? (reply.status >= 200 && reply.status < 300);
        const accepted = success && problems.length === 0;
        inbox.push({ ...request, problems, status: reply.status, accepted, answer, receivedAt: Date.now() });
        res.writeHead(reply.status, {
          "content-type": typeof reply.body === "string" ? "text/plain" : "application/json",
          ...reply.headers,
        });
        res.end(answer);
      })
      .catch((err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`${behaviour.name} receiver failed: ${errorMessage(err)}`);
      });
  });

  const host = "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const accepted = () => inbox.items.filter((request) => request.accepted);

  return {
    baseUrl: `http://${host}:${port}`,
    port,
    requests: inbox.items,
    waitFor: (count, timeoutMs) => inbox.waitFor(count, timeoutMs),
    accepted,
    async waitForAccepted(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (accepted().length < count) {
        await inbox.waitFor(inbox.items.length + 1, Math.max(1, deadline - Date.now()));
      }
      return accepted();
    },
    onRequest: (callback) => inbox.subscribe(callback),
    lastRefusalAt: () => inbox.items.findLast((request) => !request.accepted)?.receivedAt,
    failNext(answer) {
      injected.push(answer);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function requestHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function describeRequest(req: IncomingMessage, body: string): Incoming {
  return { method: req.method ?? "", path: req.url ?? "", headers: requestHeaders(req), body, json: parseJson(body) };
}

/** Problems of a text against a documented length limit (characters), or of a missing required text. */
export function checkText(where: string, value: unknown, max: number, required = true): string[] {
  if (value === undefined || value === null) return required ? [`${where} is required`] : [];
  if (typeof value !== "string") return [`${where} must be a string`];
  if (required && value.length === 0) return [`${where} must not be empty`];
  return value.length > max ? [`${where} is ${value.length} characters, more than ${max}`] : [];
}
