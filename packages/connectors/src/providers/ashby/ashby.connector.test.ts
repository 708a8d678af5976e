import { ConnectorError, Keyspace, silentLogger } from "@vigil/core";
import { AshbySourceSchema } from "./ashby.config.js";
import { describe, expect, it } from "vitest";
import type { ConnectorDeps } from "../../kit/connector.js";
import type { HttpClient, HttpRequest } from "../../kit/http-client.js";
import { createAshbyConnector } from "./ashby.connector.js";

const NOW = new Date("2026-03-10T12:00:00Z");

/** Deps whose client answers every POST with the next of `bodies`. */
function stubDeps(bodies: unknown[]) {
  const requests: HttpRequest<unknown>[] = [];
  const client: HttpClient = {
    source: "ashby-test",
    async request<T>(request: HttpRequest<T>) {
      requests.push(request as HttpRequest<unknown>);
      return request.parse.parse(bodies.shift());
    },
    async send() {
      throw new Error("not used");
    },
  };
  const deps: ConnectorDeps = {
    createHttpClient: () => client,
    keyspace: new Keyspace("unused"),
    logger: silentLogger,
  };
  return { deps, requests };
}

const config = AshbySourceSchema.parse({
  name: "ashby-test",
  type: "ashby",
  auth: { apiKey: "k3y-value" },
  startFrom: "1d",
  lookback: "1m",
});

async function pullError(bodies: unknown[]) {
  const { deps, requests } = stubDeps(bodies);
  const error = await (async () => {
    for await (const _page of createAshbyConnector(config, deps).pull(undefined, {
      signal: new AbortController().signal,
      now: NOW,
    }));
  })().catch((err: unknown) => err);
  return { error: error as ConnectorError, requests };
}

describe("Ashby connector", () => {
  it("turns an HTTP 200 success:false into an error naming the code, the message and the request id", async () => {
    const { error, requests } = await pullError([
      {
        success: false,
        errors: ["audit_logs_not_enabled"],
        errorInfo: {
          code: "audit_logs_not_enabled",
          message: "Your organization does not have the Audit Logs feature",
          requestId: "01JRVWPBWZ40S39G83ZETPXF2E",
        },
      },
    ]);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.message).toBe(
      "source ashby-test: POST /auditLog.list window=[2026-03-09T11:59:59.000Z, 2026-03-10T12:00:01.000Z) (first page): Ashby answered success: false, audit_logs_not_enabled: Your organization does not have the Audit Logs feature (request id 01JRVWPBWZ40S39G83ZETPXF2E)",
    );
    expect(error.retryable).toBe(false);
    expect(requests[0]).toMatchObject({
      method: "POST",
      path: "/auditLog.list",
      body: { startDate: "2026-03-09T11:59:59.000Z", endDate: "2026-03-10T12:00:01.000Z", limit: 100 },
    });
  });

  it("reads the classic errors list alone, and leaves an expired cursor to the next pull", async () => {
    const classic = await pullError([{ success: false, errors: ["invalid_input"] }]);
    expect(classic.error.message).toMatch(/Ashby answered success: false, invalid_input$/);
    const expired = await pullError([
      { success: true, results: [], moreDataAvailable: true, nextCursor: "qA" },
      { success: false, errorInfo: { code: "next_cursor_expired", message: "The cursor has expired" } },
    ]);
    expect(expired.error.message).toContain("cursor=qA: Ashby answered success: false, next_cursor_expired");
    expect(expired.error.retryable).toBe(true);
    expect(expired.requests[1]?.body).toMatchObject({
      cursor: "qA",
      startDate: "2026-03-09T11:59:59.000Z",
      endDate: "2026-03-10T12:00:01.000Z",
    });
  });

  it("refuses a page that promises more data without a cursor to follow", async () => {
    const { error } = await pullError([{ success: true, results: [], moreDataAvailable: true }]);
    expect(error.message).toContain("moreDataAvailable is true but there is no new nextCursor to follow");
  });
});
