// What is particular to the Zendesk connector, against the Zendesk simulator (the provider
// conformance suite covers the rest): cursor pagination only, URL-encoded cursors, created_at
// listed oldest first in windows of at most a year, each page queued as it comes, the lookback re-read, OAuth, a forbidden OAuth token, the malformed page's name.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WindowCheckpointSchema, createConnector, createConnectorDeps, SourceConfigSchema } from "@vigil/connectors";
import { expectCredentialsRefused, expectMalformedPage, pullAll } from "@vigil/connectors/testing";
import { silentLogger } from "@vigil/core";
import type { VigilConfigInput as ConfigInput } from "@vigil/cli";
import { startProviderSimulator, type ProviderSimulator } from "@vigil/simulator";
import { useRedis } from "../helpers.js";

type SourceInput = Extract<NonNullable<ConfigInput["sources"]>[number], { type: "zendesk" }>;
const { redis, keyspace } = useRedis();
const RECORDS = 150;
const PAGE_SIZE = 15;
const DAY_MS = 86_400_000;

describe("Zendesk connector against the simulator", () => {
  let sim: ProviderSimulator;

  const sourceInput = (name: string, overrides: Partial<SourceInput> = {}): SourceInput => {
    const { email, apiToken } = sim.credentials("zendesk");
    return {
      name,
      type: "zendesk",
      baseUrl: sim.baseUrl("zendesk"),
      allowInsecureHttp: true,
      auth: { email, token: apiToken },
      startFrom: "30d",
      pageSize: PAGE_SIZE,
      rateLimit: { requests: 5_000, per: "1s" },
      timeout: "5s",
      ...overrides,
    };
  };
  const connectorFor = (input: SourceInput) =>
    createConnector(
      SourceConfigSchema.parse(input),
      createConnectorDeps({ redis, keyspace: keyspace(), logger: silentLogger }),
    );
  const listRequests = () => sim.requestLog.filter((r) => r.path.startsWith("/api/v2/audit_logs"));

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["zendesk"],
      seed: 29,
      records: { zendesk: RECORDS },
      start: new Date(Date.now() - 4 * DAY_MS),
      end: new Date(Date.now() - 120_000),
      rateLimit: { zendesk: { requests: 100_000, perMs: 1_000 } },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.setFaults(undefined);
    sim.clearRequestLog();
  });

  it("backfills with cursor pagination only, within created_at bounds, sending cursors URL-encoded", async () => {
    const { events, checkpoint } = await pullAll(connectorFor(sourceInput("zendesk-backfill")));
    expect(events).toHaveLength(RECORDS);
    expect(WindowCheckpointSchema.parse(checkpoint)).toBeDefined();

    const queries = listRequests().map((r) => new URLSearchParams(r.query));
    expect(queries.length).toBeGreaterThanOrEqual(Math.ceil(RECORDS / PAGE_SIZE));
    for (const query of queries) {
      expect(query.get("page[size]")).toBe(String(PAGE_SIZE));
      expect(query.has("page")).toBe(false);
      expect(query.has("per_page")).toBe(false);
      expect(query.getAll("filter[created_at][]")).toHaveLength(2);
    }
    // Zendesk cursors hold `+`; sent raw it would arrive as a space and be refused.
    expect(listRequests().some((r) => r.query.includes("page%5Bafter%5D=") && r.query.includes("%2B"))).toBe(true);
  });

  it("reads a long backfill oldest first (sort=created_at) in one created_at window, each page queued as it comes", async () => {
    const pages: { events: number; until: number }[] = [];
    const connector = connectorFor(sourceInput("zendesk-long", { startFrom: "75d" }));
    for await (const page of connector.pull(undefined, { signal: new AbortController().signal, now: new Date() }))
      pages.push({ events: page.events.length, until: Date.parse(String(page.checkpoint.until)) });
    expect(pages.reduce((n, p) => n + p.events, 0)).toBe(RECORDS);
    const queries = listRequests().map((r) => new URLSearchParams(r.query));
    expect(queries.every((q) => q.get("sort") === "created_at")).toBe(true);
    const windows = queries
      .filter((q) => !q.has("page[after]"))
      .map((q) => q.getAll("filter[created_at][]").map((t) => Date.parse(t)) as [number, number]);
    // 75 days under the year's cap: one window, its bounds whole seconds reaching a second past it (UNCONFIRMED inclusivity).
    expect(windows).toHaveLength(1);
    expect(windows[0]![1] - windows[0]![0]).toBeLessThanOrEqual(75 * DAY_MS + 4_000);
    // A checkpoint per page of 15, never held back to the window's end, and never going back.
    expect(pages.length).toBeGreaterThanOrEqual(RECORDS / PAGE_SIZE);
    for (let i = 1; i < pages.length; i++) expect(pages[i]!.until).toBeGreaterThanOrEqual(pages[i - 1]!.until);
    expect(new Set(pages.map((p) => p.until)).size).toBeGreaterThanOrEqual(RECORDS / PAGE_SIZE);
  });

  it("re-reads only the lookback before the checkpoint on the next run", async () => {
    const connector = connectorFor(sourceInput("zendesk-incremental"));
    const first = await pullAll(connector);
    sim.append("zendesk", 6);
    const second = await pullAll(connector, first.checkpoint);
    expect(
      second.events.every((e) => Date.parse(e.time) >= Date.parse(String(first.checkpoint?.until)) - 10 * 60_000),
    ).toBe(true);
  });

  it("authenticates with an OAuth token as well", async () => {
    const { events } = await pullAll(
      connectorFor(sourceInput("zendesk-oauth", { auth: { oauthToken: sim.credentials("zendesk").oauthToken } })),
    );
    expect(events).toHaveLength(sim.groundTruth("zendesk").length);
  });

  it("still reads everything exactly while the API fails, throttles (text/plain 429, seen) and stalls", async () => {
    sim.setFaults({ rate: 0.2, kinds: ["500", "429", "slow"], seed: 6, maxDelayMs: 200 });
    const { events } = await pullAll(connectorFor(sourceInput("zendesk-faults")));
    expect(events.map((e) => e.nativeId).sort()).toEqual(
      sim
        .groundTruth("zendesk")
        .map((record) => String(record.id))
        .sort(),
    );
    expect(sim.requestLog.filter((r) => r.fault === "429").length).toBeGreaterThan(0);
  });

  it("reports a wrong API token (401) and a forbidden OAuth token (403) clearly, once, without the secret", async () => {
    const { email, forbiddenOAuthToken } = sim.credentials("zendesk");
    const wrong = "zd-wrong-api-token-1234";
    for (const [auth, secret, status] of [
      [{ email, token: wrong }, wrong, 401],
      [{ oauthToken: forbiddenOAuthToken }, forbiddenOAuthToken, 403],
    ] as const) {
      sim.clearRequestLog();
      await expectCredentialsRefused(connectorFor(sourceInput("zendesk-badauth", { auth })), {
        status: String(status),
        secret,
        requests: () => sim.requestLog.length,
      });
    }
  });

  it("names a malformed page by its created_at window and the bad field, before yielding any of it", async () => {
    const connector = connectorFor(sourceInput("zendesk-malformed"));
    const { checkpoint } = await pullAll(connector);
    sim.append("zendesk", 4);
    sim.setFaults({ rate: 1, kinds: ["malformed"], seed: 8 });
    const error = await expectMalformedPage(
      connector,
      checkpoint,
      /^source zendesk-malformed: GET \/api\/v2\/audit_logs created_at=\[\S+, \S+\] \(first page\)/,
    );
    expect(error.message).toMatch(/not valid JSON|: audit_logs\.\d+\./);
  });
});
