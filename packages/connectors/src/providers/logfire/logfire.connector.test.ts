import { silentLogger } from "@vigil/core";
import { LogfireSourceSchema, type LogfireSourceConfig } from "./logfire.config.js";
import { describe, expect, it } from "vitest";
import type { ConnectorDeps, ConnectorHttpOptions, SourcePage } from "../../kit/connector.js";
import type { HttpClient, HttpRequest } from "../../kit/http-client.js";
import {
  LOGFIRE_BASE_URLS,
  LOGFIRE_DEFAULT_RATE_LIMIT,
  LOGFIRE_MAX_WINDOW_MS,
  createLogfireConnector,
} from "./logfire.connector.js";

const TOKEN = "pylf_v1_us_unit_test_token_0123";
const NOW = new Date("2026-03-10T12:00:00.250Z");

type Answer = (query: Record<string, string>) => unknown;

/** Deps whose HTTP client answers from `answer` and records what the connector asked. */
function fakeDeps(answer: Answer) {
  const requests: Record<string, string>[] = [];
  const built: ConnectorHttpOptions[] = [];
  const warnings: string[] = [];
  const client = (options: ConnectorHttpOptions): HttpClient => ({
    source: options.source,
    async send<T>(request: HttpRequest<T>) {
      return { data: await this.request(request), status: 200, headers: new Headers() };
    },
    async request<T>(request: HttpRequest<T>): Promise<T> {
      expect(request.path).toBe("/v1/audit-logs/");
      const query = Object.fromEntries(Object.entries(request.query ?? {}).map(([k, v]) => [k, String(v)]));
      requests.push(query);
      return request.parse.parse(answer(query));
    },
  });
  const deps = {
    createHttpClient: (options: ConnectorHttpOptions) => {
      built.push(options);
      return client(options);
    },
    logger: { ...silentLogger, warn: (_fields: unknown, message: string) => warnings.push(message) },
  } as unknown as ConnectorDeps;
  return { deps, requests, built, warnings };
}

function config(overrides: Record<string, unknown> = {}): LogfireSourceConfig {
  return LogfireSourceSchema.parse({
    name: "logfire-prod",
    type: "logfire",
    auth: { token: TOKEN },
    startFrom: "3d",
    lookback: "10m",
    ...overrides,
  });
}

const row = (id: string, createdAt: string, action = "LOGIN") => ({
  id,
  created_at: createdAt,
  organization_name: "acme",
  project_name: null,
  user_name: "ada",
  action,
  resource_type: null,
  record_id: null,
  ip_address: "192.0.2.10",
});

async function pull(connector: ReturnType<typeof createLogfireConnector>, from?: Record<string, unknown>, now = NOW) {
  const pages: SourcePage[] = [];
  for await (const page of connector.pull(from, { signal: new AbortController().signal, now })) pages.push(page);
  return pages;
}

describe("Logfire connector", () => {
  it("uses the region's host, the bearer token, the retry header and a non-secret rate-limit id", () => {
    for (const region of ["us", "eu"] as const) {
      const { deps, built } = fakeDeps(() => []);
      createLogfireConnector(config({ region }), deps);
      expect(built[0]).toMatchObject({
        source: "logfire-prod",
        baseUrl: LOGFIRE_BASE_URLS[region],
        headers: { authorization: `Bearer ${TOKEN}` },
        timeoutMs: 30_000,
        retryAfterHeaders: ["retry-after"],
        rateLimit: LOGFIRE_DEFAULT_RATE_LIMIT,
      });
      expect(built[0]?.rateLimit?.credentialId).toMatch(
        new RegExp(`^logfire:${LOGFIRE_BASE_URLS[region]}:[0-9a-f]{12}$`),
      );
      expect(built[0]?.rateLimit?.credentialId).not.toContain(TOKEN);
    }
    expect(LOGFIRE_BASE_URLS).toEqual({ us: "https://api-us.pydantic.dev/api", eu: "https://api-eu.pydantic.dev/api" });
  });

  it("takes baseUrl, rateLimit and timeout overrides, and warns that pageSize does nothing", () => {
    const { deps, built, warnings } = fakeDeps(() => []);
    createLogfireConnector(
      config({
        baseUrl: "https://logfire.internal.example/api",
        rateLimit: { requests: 5, per: "10s" },
        timeout: "5s",
        pageSize: 50,
      }),
      deps,
    );
    expect(built[0]).toMatchObject({
      baseUrl: "https://logfire.internal.example/api",
      timeoutMs: 5_000,
      rateLimit: { requests: 5, perMs: 10_000 },
    });
    expect(warnings).toEqual(["pageSize has no effect on a Logfire source: the API returns each window whole"]);
  });

  it("queries whole-second windows that cover the span from startFrom to now: a first hour, then wider", async () => {
    const { deps, requests } = fakeDeps(() => []);
    const pages = await pull(createLogfireConnector(config(), deps));
    expect(requests.map((q) => [q.start_time, q.end_time])).toEqual([
      ["2026-03-07T12:00:00Z", "2026-03-07T13:00:01Z"],
      // The first hour was empty: the next window is sized as if it held one record, here up to now.
      ["2026-03-07T13:00:00Z", "2026-03-10T12:00:01Z"],
    ]);
    for (const q of requests)
      expect(Date.parse(q.end_time!) - Date.parse(q.start_time!)).toBeLessThanOrEqual(LOGFIRE_MAX_WINDOW_MS + 1_000);
    expect(pages.at(-1)?.checkpoint).toMatchObject({ until: NOW.toISOString() });
  });

  it("yields a window oldest first, keeps records on both sides of a rounded bound for the right window, and drops an id served twice", async () => {
    const at = "2026-03-10T11:59:00.5Z";
    const { deps } = fakeDeps((q) =>
      q.start_time === "2026-03-10T11:50:00Z"
        ? [
            row("c", "2026-03-10T12:00:00.3Z"),
            row("b", at, "UPDATE"),
            row("a", at),
            row("a", at),
            row("old", "2026-03-10T11:50:00.1Z"),
          ]
        : [],
    );
    const pages = await pull(createLogfireConnector(config(), deps), { until: "2026-03-10T12:00:00.200Z" });
    // The checkpoint less the 10 minutes lookback is 11:50:00.200: the 11:50:00.1 row lies before it, the 12:00:00.3 row after now.
    expect(pages.flatMap((p) => p.events.map((e) => e.nativeId))).toEqual(["a", "b"]);
    expect(pages.at(-1)?.events.map((e) => e.time)).toEqual(["2026-03-10T11:59:00.500Z", "2026-03-10T11:59:00.500Z"]);
  });

  it("refuses a record malformed on two reads of its window, naming the source, the window and the field, and goes on", async () => {
    const broken = { ...row("y", "2026-03-09T14:00:00Z"), user_name: null };
    const { deps } = fakeDeps((q) =>
      q.start_time === "2026-03-07T13:00:00Z"
        ? [row("x", "2026-03-09T13:00:00Z"), broken]
        : [row(`ok-${q.start_time}`, new Date(Date.parse(q.start_time!) + 1_800_000).toISOString())],
    );
    const pages: SourcePage[] = [];
    for await (const page of createLogfireConnector(config(), deps).pull(undefined, {
      signal: new AbortController().signal,
      now: NOW,
    }))
      pages.push(page);
    const page = "GET /v1/audit-logs/ start_time=2026-03-07T13:00:00Z end_time=2026-03-10T12:00:01Z";
    expect(pages.flatMap((p) => p.refused ?? [])).toEqual([
      {
        position: page,
        reason: `source logfire-prod: ${page}: malformed response (record id y): 1.user_name: is required (string)`,
        field: "1.user_name",
        raw: JSON.stringify(broken),
        format: "provider-record",
      },
    ]);
    expect(pages.flatMap((p) => p.events.map((e) => e.nativeId))).toEqual(["ok-2026-03-07T12:00:00Z", "x"]);
    expect(pages.at(-1)?.checkpoint).toMatchObject({ until: NOW.toISOString() });
  });

  it("refuses a body that is not a list", async () => {
    const { deps } = fakeDeps(() => ({ detail: "unexpected" }));
    await expect(pull(createLogfireConnector(config(), deps))).rejects.toThrow(
      /start_time=2026-03-07T12:00:00Z .*: malformed response: is required \(array\)/,
    );
  });

  it("checks with one request over the last minute", async () => {
    const { deps, requests } = fakeDeps(() => []);
    await createLogfireConnector(config(), deps).check();
    expect(requests).toHaveLength(1);
    expect(Date.parse(requests[0]!.end_time!) - Date.parse(requests[0]!.start_time!)).toBeLessThanOrEqual(62_000);
  });
});
