import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConnectorError, type Logger, type RateLimiter } from "@vigil/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createHttpClient, parseRetryAfter, ResponseTooLargeError, type HttpClientOptions } from "./http-client.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
interface Hit {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const TOKEN = "pylon-secret-token-123456";
const PageSchema = z.object({
  data: z.array(z.object({ id: z.string() })),
  pagination: z.object({ cursor: z.string().nullable() }),
});
const okPage = { data: [{ id: "a" }, { id: "b" }], pagination: { cursor: null } };

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** Records what the client logs (the client only logs through warn/info/error/debug). */
function recordingLogger() {
  const records: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const record = (level: string) => (fields: Record<string, unknown>, message: string) =>
    records.push({ level, fields, message });
  const logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  } as unknown as Logger;
  (logger as unknown as { child: () => Logger }).child = () => logger;
  return { logger, records };
}

describe("http client", () => {
  let server: Server;
  let baseUrl: string;
  let handlers: Handler[];
  let hits: Hit[];
  let log: ReturnType<typeof recordingLogger>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        hits.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        const handler = handlers[Math.min(hits.length, handlers.length) - 1];
        if (!handler) throw new Error("no handler");
        handler(req, res, body);
      });
    });
    // Idle keep-alive sockets must outlive the suite: a server-closed socket costs the client a retry and skews attempt counts.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    handlers = [];
    hits = [];
    log = recordingLogger();
  });

  const client = (overrides: Partial<HttpClientOptions> = {}) =>
    createHttpClient({
      source: "pylon-prod",
      baseUrl,
      headers: { authorization: `Bearer ${TOKEN}` },
      timeoutMs: 2_000,
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
      retryAfterHeaders: ["retry-after"],
      logger: log.logger,
      ...overrides,
    });

  const failure = async (promise: Promise<unknown>): Promise<ConnectorError> => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  };

  it("sends the request and returns the validated body", async () => {
    handlers = [(_req, res) => json(res, 200, okPage)];
    const page = await client().request({
      path: "/audit-logs",
      query: { limit: 100, cursor: "a+b/c" },
      parse: PageSchema,
    });
    expect(page).toEqual(okPage);
    expect(hits).toHaveLength(1);
    expect(hits[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(new URL(hits[0]?.url ?? "", baseUrl).searchParams.get("cursor")).toBe("a+b/c");
  });

  it("repeats array query values, keeps the base path and the trailing slash", async () => {
    handlers = [(_req, res) => json(res, 200, okPage)];
    await client({ baseUrl: `${baseUrl}/api/` }).request({
      path: "/v1/audit-logs/",
      query: { "filter[created_at][]": ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"], skipped: undefined },
      parse: PageSchema,
    });
    const url = new URL(hits[0]?.url ?? "", baseUrl);
    expect(url.pathname).toBe("/api/v1/audit-logs/");
    expect(url.searchParams.getAll("filter[created_at][]")).toEqual(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]);
    expect(url.searchParams.has("skipped")).toBe(false);
  });

  it("sends a JSON body with its content type", async () => {
    handlers = [(_req, res) => json(res, 200, okPage)];
    await client().request({ method: "POST", path: "/auditLog.list", body: { limit: 100 }, parse: PageSchema });
    expect(hits[0]?.method).toBe("POST");
    expect(hits[0]?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(hits[0]?.body ?? "")).toEqual({ limit: 100 });
  });

  it("on 429 waits what Retry-After says, then retries", async () => {
    handlers = [
      (_req, res) => json(res, 429, { errors: ["rate limited"] }, { "retry-after": "1" }),
      (_req, res) => json(res, 200, okPage),
    ];
    const page = await client().request({ path: "/audit-logs", parse: PageSchema });
    expect(page).toEqual(okPage);
    expect(hits).toHaveLength(2);
    expect(log.records.find((r) => r.message === "retrying provider request")?.fields).toMatchObject({
      status: 429,
      delayMs: 1000,
      attempt: 1,
    });
  });

  it("reads the provider's own retry header (X-Retry-After) when configured", async () => {
    handlers = [
      (_req, res) => json(res, 429, { errors: ["slow down"] }, { "x-retry-after": "1" }),
      (_req, res) => json(res, 200, okPage),
    ];
    await client({ retryAfterHeaders: ["x-retry-after"] }).request({ path: "/audit-logs", parse: PageSchema });
    expect(hits).toHaveLength(2);
    expect(log.records.find((r) => r.message === "retrying provider request")?.fields).toMatchObject({ delayMs: 1000 });
  });

  it("gives up at once when the provider asks to wait longer than maxRetryAfterMs", async () => {
    handlers = [(_req, res) => json(res, 429, {}, { "retry-after": "3600" })];
    const err = await failure(client({ maxRetryAfterMs: 5_000 }).request({ path: "/audit-logs", parse: PageSchema }));
    expect(hits).toHaveLength(1);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("asks to wait 3600 s");
  });

  it("retries 5xx with backoff, then succeeds", async () => {
    handlers = [
      (_req, res) => json(res, 500, { error: "boom" }),
      (_req, res) => json(res, 502, {}),
      (_req, res) => json(res, 200, okPage),
    ];
    await expect(client().request({ path: "/audit-logs", parse: PageSchema })).resolves.toEqual(okPage);
    expect(hits).toHaveLength(3);
  });

  it("retries a request that timed out, then succeeds", async () => {
    handlers = [() => {}, (_req, res) => json(res, 200, okPage)];
    await expect(client({ timeoutMs: 200 }).request({ path: "/audit-logs", parse: PageSchema })).resolves.toEqual(
      okPage,
    );
    expect(hits).toHaveLength(2);
    expect(log.records[0]?.fields.reason).toBe("timed out after 200 ms");
  });

  it("times out a body that stalls after the headers", async () => {
    handlers = [
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"data": [');
      },
      (_req, res) => json(res, 200, okPage),
    ];
    await expect(client({ timeoutMs: 200 }).request({ path: "/audit-logs", parse: PageSchema })).resolves.toEqual(
      okPage,
    );
    expect(hits).toHaveLength(2);
  });

  it("retries a connection reset", async () => {
    handlers = [(req) => req.socket.destroy(), (_req, res) => json(res, 200, okPage)];
    await expect(client().request({ path: "/audit-logs", parse: PageSchema })).resolves.toEqual(okPage);
    expect(hits).toHaveLength(2);
    expect(String(log.records[0]?.fields.reason)).toMatch(/^connection failed \(/);
  });

  it("fails with a retryable error once its attempts are spent", async () => {
    handlers = [(_req, res) => json(res, 503, { error: "maintenance" })];
    const err = await failure(client().request({ path: "/audit-logs", parse: PageSchema }));
    expect(hits).toHaveLength(3);
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      'source pylon-prod: GET /audit-logs failed after 3 attempts: HTTP 503: {"error":"maintenance"}',
    );
    expect(err.context).toMatchObject({ status: 503 });
  });

  it("does not retry 401 and says which source's credentials to check, without the token", async () => {
    handlers = [(_req, res) => json(res, 401, { error: `Couldn't authenticate you with token ${TOKEN}` })];
    const err = await failure(
      client().request({ path: "/audit-logs", query: { api_token: "query-secret-99" }, parse: PageSchema }),
    );
    expect(hits).toHaveLength(1);
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({ status: 401 });
    expect(err.message).toContain("authentication failed (HTTP 401): check the credentials of source pylon-prod");
    expect(err.message).toContain("[redacted]");
    expect(err.message).not.toContain(TOKEN);
    expect(JSON.stringify(err.context)).not.toContain(TOKEN);
    expect(err.message).not.toContain("query-secret-99");
  });

  it("does not retry 403, and scrubs Basic credentials echoed back", async () => {
    const basic = Buffer.from(`agent@example.com/token:${TOKEN}`).toString("base64");
    handlers = [(_req, res) => json(res, 403, { error: "Forbidden", description: `key ${TOKEN} lacks audit access` })];
    const err = await failure(
      client({ headers: { authorization: `Basic ${basic}` } }).request({
        path: "/api/v2/audit_logs",
        parse: PageSchema,
      }),
    );
    expect(hits).toHaveLength(1);
    expect(err.message).toContain("authentication failed (HTTP 403): check the credentials of source pylon-prod");
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain(basic);
  });

  it("does not retry other 4xx and shows the provider's error body, truncated", async () => {
    const description = "x".repeat(1_000);
    handlers = [(_req, res) => json(res, 400, { error: "InvalidValue", description })];
    const err = await failure(client().request({ path: "/api/v2/audit_logs", parse: PageSchema }));
    expect(hits).toHaveLength(1);
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({ status: 400 });
    expect(err.message).toContain('GET /api/v2/audit_logs was refused (HTTP 400): {"error":"InvalidValue"');
    expect(err.message.length).toBeLessThan(500);
    expect(err.message.endsWith("…")).toBe(true);
  });

  it("names the path and the failing field when a 2xx body does not match the schema", async () => {
    handlers = [(_req, res) => json(res, 200, { data: [{ id: "a" }, { id: 5 }], pagination: { cursor: null } })];
    const err = await failure(client().request({ path: "/audit-logs", parse: PageSchema }));
    expect(hits).toHaveLength(1);
    expect(err.retryable).toBe(false);
    expect(err.context).toMatchObject({ field: "data.1.id", page: "GET /audit-logs" });
    expect(err.message).toMatch(/^source pylon-prod: unexpected response from GET \/audit-logs: data\.1\.id: /);
  });

  it("reports a 2xx body that is not JSON", async () => {
    handlers = [
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html>maintenance</html>");
      },
    ];
    const err = await failure(client().request({ path: "/audit-logs", parse: PageSchema }));
    expect(err.message).toContain("GET /audit-logs answered with a body that is not JSON");
  });

  it("signs every attempt over the exact request URI and body", async () => {
    const key = "hmac-key-for-tests";
    const signature = (method: string, uri: string, body: string) =>
      createHash("sha256").update(`${key}${method}${uri}${body}`).digest("base64");
    handlers = [(_req, res) => json(res, 500, {}), (_req, res) => json(res, 200, okPage)];
    let signed = 0;
    await client({
      headers: {},
      sign: ({ method, requestUri, body }) => {
        signed += 1;
        return { authorization: "bhesignature token-id", signature: signature(method, requestUri, body ?? "") };
      },
    }).request({
      method: "POST",
      path: "/api/v2/audit",
      query: { limit: 2, after: "2024-11-22T00:00:00Z" },
      body: { a: 1 },
      parse: PageSchema,
    });
    expect(signed).toBe(2);
    for (const hit of hits) expect(hit.headers.signature).toBe(signature(hit.method, hit.url, hit.body));
  });

  it("acquires the rate limiter before every attempt", async () => {
    let acquired = 0;
    const rateLimiter: RateLimiter = {
      acquire: async () => {
        acquired += 1;
      },
    };
    handlers = [(_req, res) => json(res, 500, {}), (_req, res) => json(res, 200, okPage)];
    await client({ rateLimiter }).request({ path: "/audit-logs", parse: PageSchema });
    expect(acquired).toBe(2);
  });

  it("tells the rate limiter when each attempt was answered, before reading its body", async () => {
    const events: string[] = [];
    const rateLimiter: RateLimiter = {
      acquire: async () => {
        events.push("acquired");
        return () => events.push(`answered after ${hits.length} request(s)`);
      },
    };
    handlers = [(_req, res) => json(res, 500, {}), (_req, res) => json(res, 200, okPage)];
    await client({ rateLimiter }).request({ path: "/audit-logs", parse: PageSchema });
    expect(events).toEqual(["acquired", "answered after 1 request(s)", "acquired", "answered after 2 request(s)"]);
  });

  it("stops without retrying when the caller aborts", async () => {
    handlers = [() => {}];
    const controller = new AbortController();
    const pending = client({ timeoutMs: 5_000 }).request({
      path: "/audit-logs",
      signal: controller.signal,
      parse: PageSchema,
    });
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    await expect(pending).rejects.toThrow("shutting down");
    expect(hits).toHaveLength(1);
  });

  it("returns status and headers from send()", async () => {
    handlers = [(_req, res) => json(res, 200, okPage, { "x-rate-limit-remaining": "59" })];
    const response = await client().send({ path: "/audit-logs", parse: PageSchema });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-rate-limit-remaining")).toBe("59");
  });

  describe("redirects", () => {
    let elsewhere: Server;
    let elsewhereOrigin: string;
    let elsewhereHits: Hit[];
    beforeAll(async () => {
      elsewhere = createServer((req, res) => {
        elsewhereHits.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: "" });
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("ELSEWHERE-BODY: internal admin page");
      });
      await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
      elsewhereOrigin = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      elsewhere.closeAllConnections();
      await new Promise((resolve) => elsewhere.close(resolve));
    });
    beforeEach(() => {
      elsewhereHits = [];
    });

    it("never follows one to another origin: no header, signature or attempt reaches it, and its body is never read", async () => {
      handlers = [(_req, res) => json(res, 302, { moved: true }, { location: `${elsewhereOrigin}/steal?x=1` })];
      const signed = client({
        headers: { authorization: `Bearer ${TOKEN}`, "x-custom": "team-header" },
        sign: () => ({ signature: "sig-value-abcdef" }),
      });
      const err = await failure(signed.request({ path: "/audit-logs", parse: PageSchema }));

      expect(elsewhereHits).toEqual([]);
      expect(hits).toHaveLength(1);
      expect(err.retryable).toBe(false);
      expect(err.context).toMatchObject({ status: 302, page: "GET /audit-logs" });
      expect(err.message).toBe(
        `source pylon-prod: GET /audit-logs was redirected (HTTP 302) to another origin, ${elsewhereOrigin}; not followed: credentials stay with ${baseUrl} (check the source's baseUrl)`,
      );
      expect(JSON.stringify(log.records)).not.toContain("ELSEWHERE");
    });

    it("follows one within the origin, signing the new request, and gives up after 3", async () => {
      const signedUris: string[] = [];
      handlers = [
        (_req, res) => json(res, 307, {}, { location: "/v2/audit-logs?cursor=c1" }),
        (_req, res) => json(res, 200, okPage),
      ];
      const signed = client({
        sign: ({ requestUri }) => {
          signedUris.push(requestUri);
          return { signature: `sig:${requestUri}` };
        },
      });
      await expect(signed.request({ path: "/audit-logs", parse: PageSchema })).resolves.toEqual(okPage);
      expect(hits.map((hit) => [hit.url, hit.headers.signature])).toEqual([
        ["/audit-logs", "sig:/audit-logs"],
        ["/v2/audit-logs?cursor=c1", "sig:/v2/audit-logs?cursor=c1"],
      ]);

      hits = [];
      handlers = [(req, res) => json(res, 302, {}, { location: `${req.url}x` })];
      const err = await failure(client().request({ path: "/loop", parse: PageSchema }));
      expect(hits).toHaveLength(4);
      expect(err.retryable).toBe(false);
      expect(err.message).toContain("GET /loop was redirected (HTTP 302) more than 3 times; not followed further");
    });
  });

  describe("response size", () => {
    const MiB = 2 ** 20;
    /** Streams up to `total` bytes of a JSON array without a content-length, as fast as the client reads. */
    function streamed(total: number, written: { bytes: number; finished: boolean }): Handler {
      return (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (written.bytes < total) {
            written.bytes += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          written.finished = true;
          res.end();
        };
        res.once("close", () => res.removeAllListeners("drain"));
        res.write("[");
        pump();
      };
    }

    it("stops reading a body past maxResponseBytes and fails the page, naming source and page, without retrying", async () => {
      const written = { bytes: 0, finished: false };
      handlers = [streamed(256 * MiB, written)];
      const err = await failure(
        client({ maxResponseBytes: 1 * MiB }).request({
          path: "/audit-logs",
          query: { cursor: "c9" },
          parse: PageSchema,
        }),
      );
      expect(err.retryable).toBe(false);
      expect(err.context).toMatchObject({ page: "GET /audit-logs" });
      expect(err.message).toBe(
        "source pylon-prod: GET /audit-logs: the response body is larger than 1 MiB (maxResponseMiB); not read. Lower the source's pageSize or raise maxResponseMiB",
      );
      expect(hits).toHaveLength(1);
      // The client hung up while the server was still writing: the cap held while reading, not after.
      expect(written.finished).toBe(false);
      expect(written.bytes).toBeLessThan(64 * MiB);
    });

    it("holds a request to its own, lower byte budget with a ResponseTooLargeError", async () => {
      const written = { bytes: 0, finished: false };
      handlers = [streamed(256 * MiB, written)];
      const err = await failure(
        client({ maxResponseBytes: 32 * MiB }).request({
          path: "/audit-logs",
          parse: PageSchema,
          maxResponseBytes: MiB,
        }),
      );
      expect(err).toBeInstanceOf(ResponseTooLargeError);
      expect(err.message).toBe(
        "source pylon-prod: GET /audit-logs: the response body is larger than 1 MiB, what this request may hold; not read",
      );
      expect(written.bytes).toBeLessThan(32 * MiB);
    });

    it("refuses a declared content-length over the cap before reading, and reads a body within it", async () => {
      handlers = [
        (_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": String(2 * MiB) });
          res.write("[");
        },
        (_req, res) => json(res, 200, okPage),
      ];
      const capped = client({ maxResponseBytes: MiB });
      const err = await failure(capped.request({ path: "/audit-logs", parse: PageSchema }));
      expect(err.message).toContain("larger than 1 MiB");
      await expect(capped.request({ path: "/audit-logs", parse: PageSchema })).resolves.toEqual(okPage);
    });
  });

  it("never logs credentials", async () => {
    handlers = [(_req, res) => json(res, 500, { echo: TOKEN }), (_req, res) => json(res, 200, okPage)];
    await client().request({ path: "/audit-logs", query: { token: "query-secret-99" }, parse: PageSchema });
    const logged = JSON.stringify(log.records);
    expect(log.records.length).toBeGreaterThanOrEqual(1);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain("query-secret-99");
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads delta seconds and HTTP dates", () => {
    expect(parseRetryAfter("30", now)).toBe(30_000);
    expect(parseRetryAfter("1.5", now)).toBe(1_500);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});
