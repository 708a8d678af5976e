import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { errorMessage } from "@vigil/core";
import { Webhook } from "standardwebhooks";
import { parseJson, readBody, requestHeaders } from "../receivers/http-receiver.js";
import { Inbox } from "./wait-for.js";

/** One HTTP request the webhook sink received. */
export interface ReceivedWebhook {
  method: string;
  /** Path and query string, e.g. `/hooks?x=1`. */
  path: string;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body exactly as received. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** Whether the Standard Webhooks signature checks out with the sink's secret (via the `standardwebhooks` package). */
  verified: boolean;
  /** Why verification failed, when it did. */
  verifyError?: string;
  /** The status the sink answered with. */
  status: number;
  /** When the sink took the request (ms since the epoch), just before it answers. */
  receivedAt: number;
}

/** A status, or a status with extra headers (a 429's `Retry-After`). */
export type WebhookAnswer = number | { status: number; headers: Record<string, string> };

/** Decides the answer to the n-th request (1-based); may be async to simulate a slow receiver. */
export type WebhookResponder = (
  request: Omit<ReceivedWebhook, "status" | "receivedAt">,
  n: number,
) => WebhookAnswer | Promise<WebhookAnswer>;

export interface WebhookSinkOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Standard Webhooks secret (`whsec_...`) to verify signatures with; without it nothing verifies. */
  secret?: string;
}

export interface WebhookSink {
  /** Where to POST, e.g. `http://127.0.0.1:41234/hooks`. */
  readonly url: string;
  readonly port: number;
  /** Every request received (whatever the sink answered), in arrival order. */
  readonly requests: ReceivedWebhook[];
  /** Resolves with all requests once at least `count` arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<ReceivedWebhook[]>;
  /** Calls `callback` for each request from now on; returns an unsubscribe function. */
  onRequest(callback: (request: ReceivedWebhook) => void): () => void;
  /** Fault injection: the status to answer each request with. The default answers 200. */
  respondWith(responder: WebhookResponder): void;
  close(): Promise<void>;
}

const ANSWER_OK: WebhookResponder = () => 200;

/**
 * An HTTP server on 127.0.0.1 that records every request and checks its Standard Webhooks
 * signature independently of Vigil's own signing code.
 */
export async function startWebhookSink(options: WebhookSinkOptions = {}): Promise<WebhookSink> {
  const inbox = new Inbox<ReceivedWebhook>("webhook sink");
  const verifier = options.secret ? new Webhook(options.secret) : undefined;
  let responder = ANSWER_OK;
  let received = 0;

  const server = createServer((req, res) => {
    readBody(req)
      .then(async (body) => {
        received += 1;
        const request = describeRequest(req, body, verifier);
        const answer = await responder(request, received);
        const { status, headers } = typeof answer === "number" ? { status: answer, headers: {} } : answer;
        inbox.push({ ...request, status, receivedAt: Date.now() });
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify({ status }));
      })
      .catch((err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`webhook sink failed: ${errorMessage(err)}`);
      });
  });

  const host = "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}/hooks`,
    port,
    requests: inbox.items,
    waitFor: (count, timeoutMs) => inbox.waitFor(count, timeoutMs),
    onRequest: (callback) => inbox.subscribe(callback),
    respondWith(next) {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function describeRequest(
  req: IncomingMessage,
  body: string,
  verifier: Webhook | undefined,
): Omit<ReceivedWebhook, "status" | "receivedAt"> {
  const headers = requestHeaders(req);
  const json = parseJson(body);
  let verified = false;
  let verifyError: string | undefined = "the sink has no secret to verify with";
  if (verifier) {
    try {
      verifier.verify(body, headers);
      verified = true;
      verifyError = undefined;
    } catch (err) {
      verifyError = errorMessage(err);
    }
  }
  return {
    method: req.method ?? "",
    path: req.url ?? "",
    headers,
    body,
    json,
    verified,
    ...(verifyError === undefined ? {} : { verifyError }),
  };
}
