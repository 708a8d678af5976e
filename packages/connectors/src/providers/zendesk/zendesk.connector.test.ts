import { ConnectorError, Keyspace, silentLogger } from "@vigil/core";
import { ZendeskSourceSchema } from "./zendesk.config.js";
import { describe, expect, it } from "vitest";
import type { ConnectorDeps } from "../../kit/connector.js";
import type { HttpClient, HttpClientOptions, HttpRequest } from "../../kit/http-client.js";
import { createZendeskConnector } from "./zendesk.connector.js";

const NOW = new Date("2026-03-10T12:00:00.250Z");

/** Deps whose client answers with the next of `bodies`, noting the client's options and each request. */
function stubDeps(bodies: unknown[]) {
  const requests: HttpRequest<unknown>[] = [];
  const clientOptions: Partial<HttpClientOptions>[] = [];
  const client: HttpClient = {
    source: "zendesk-test",
    async request<T>(request: HttpRequest<T>) {
      requests.push(request as HttpRequest<unknown>);
      return request.parse.parse(bodies.shift());
    },
    async send() {
      throw new Error("not used");
    },
  };
  const deps: ConnectorDeps = {
    createHttpClient: (options) => {
      clientOptions.push(options);
      return client;
    },

    keyspace: new Keyspace("unused"),
    logger: silentLogger,
  };
  return { deps, requests, clientOptions };
}

const baseConfig = {
  name: "zendesk-test",
  type: "zendesk",
  baseUrl: "https://acme.zendesk.com",
  startFrom: "1d",
  lookback: "1m",
};

async function pull(auth: Record<string, string>, bodies: unknown[]) {
  const { deps, requests, clientOptions } = stubDeps(bodies);
  const connector = createZendeskConnector(ZendeskSourceSchema.parse({ ...baseConfig, auth }), deps);
  const error = await (async () => {
    for await (const _page of connector.pull(undefined, { signal: new AbortController().signal, now: NOW }));
  })().catch((err: unknown) => err);
  return { error: error as ConnectorError | undefined, requests, clientOptions };
}

describe("Zendesk connector", () => {
  it("sends Basic {email}/token:{token}, or Bearer for OAuth, and keys the rate limit by account", async () => {
    const empty = { audit_logs: [], meta: { has_more: false, after_cursor: null, before_cursor: null } };
    const basic = await pull({ email: "jdoe@example.com", token: "abc123" }, [empty]);
    expect(basic.error).toBeUndefined();
    expect(basic.clientOptions[0]).toMatchObject({
      baseUrl: "https://acme.zendesk.com",
      headers: { authorization: "Basic amRvZUBleGFtcGxlLmNvbS90b2tlbjphYmMxMjM=" },
      retryAfterHeaders: ["retry-after"],
      rateLimit: { requests: 700, perMs: 60_000, credentialId: "zendesk:https://acme.zendesk.com" },
    });
    expect(basic.requests[0]?.query).toEqual({
      "page[size]": 100,
      sort: "created_at",
      "filter[created_at][]": ["2026-03-09T11:59:59Z", "2026-03-10T12:00:02Z"],
      "page[after]": undefined,
    });
    const oauth = await pull({ oauthToken: "oauth-t0ken" }, [empty]);
    expect(oauth.clientOptions[0]?.headers).toEqual({ authorization: "Bearer oauth-t0ken" });
  });

  it("refuses an offset-pagination body, and a page that promises more without a cursor", async () => {
    const offset = await pull({ oauthToken: "oauth-t0ken" }, [
      { audit_logs: [], next_page: null, previous_page: null, count: 0 },
    ]);
    expect(offset.error).toBeInstanceOf(ConnectorError);
    expect(offset.error?.message).toMatch(/\(first page\): malformed response: meta: is required/);
    const stuck = await pull({ oauthToken: "oauth-t0ken" }, [
      { audit_logs: [], meta: { has_more: true, after_cursor: null } },
    ]);
    expect(stuck.error?.message).toContain("meta.has_more is true but there is no new after_cursor to follow");
  });
});
