import { Keyspace, silentLogger } from "@vigil/core";
import { PylonSourceSchema } from "./pylon.config.js";
import { describe, expect, it } from "vitest";
import type { ConnectorDeps, SourcePage } from "../../kit/connector.js";
import type { HttpClient, HttpRequest } from "../../kit/http-client.js";
import { createPylonConnector } from "./pylon.connector.js";

const NOW = new Date("2026-03-10T12:00:00Z");

function log(id: string, happenedAt: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    action: "IssueClosed",
    action_happened_at: happenedAt,
    created_at: happenedAt,
    object_type: "issue",
    object_id: `iss-${id}`,
    ...extra,
  };
}

/** Deps whose client answers GET /audit-logs from `pages`, keyed by the cursor sent ("" for none). */
function stubDeps(pages: Record<string, unknown>) {
  const requests: HttpRequest<unknown>[] = [];
  const client: HttpClient = {
    source: "pylon-test",
    async request<T>(request: HttpRequest<T>) {
      requests.push(request as HttpRequest<unknown>);
      const body = pages[String(request.query?.cursor ?? "")];
      if (body === undefined) throw new Error(`no stub page for cursor ${String(request.query?.cursor)}`);
      return request.parse.parse(body);
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

/** Where a pull that reaches the end of the feed at NOW puts the watermark: NOW less the 10m default lookback. */
const END_OF_FEED = NOW.getTime() - 10 * 60_000;

const config = PylonSourceSchema.parse({
  name: "pylon-test",
  type: "pylon",
  auth: { token: "t0ken-value" },
  startFrom: "7d",
});

async function collect(pages: Record<string, unknown>, from?: Record<string, unknown>) {
  const { deps, requests } = stubDeps(pages);
  const yielded: SourcePage[] = [];
  const progress: SourcePage["progress"][] = [];
  const error = await (async () => {
    for await (const { progress: pageProgress, ...page } of createPylonConnector(config, deps).pull(from, {
      signal: new AbortController().signal,
      now: NOW,
    })) {
      yielded.push(page);
      progress.push(pageProgress);
    }
  })().catch((err: unknown) => err);
  return { yielded, requests, error, progress };
}

describe("Pylon connector paging", () => {
  it("says with each page how many records the run read and how many are left at the density seen", async () => {
    // Three records an hour apart, the last two hours before now: two more are expected.
    const { progress, error } = await collect({
      "": {
        data: [log("a", "2026-03-10T08:00:00Z"), log("b", "2026-03-10T09:00:00Z")],
        pagination: { cursor: "c1", has_next_page: true },
      },
      c1: { data: [log("c", "2026-03-10T10:00:00Z")], pagination: { cursor: "c2", has_next_page: false } },
    });
    expect(error).toBeUndefined();
    expect(progress.at(-1)).toEqual({ recordsRead: 3, estimatedRemaining: 3 });
  });

  it("orders a run by action time across pages and checkpoints the last cursor", async () => {
    const { yielded, requests, error } = await collect({
      "": {
        data: [log("b", "2026-03-10T10:00:02Z"), log("old", "2026-02-01T00:00:00Z")],
        pagination: { cursor: "c1", has_next_page: true },
      },
      c1: { data: [log("a", "2026-03-10T10:00:01Z")], pagination: { cursor: "c2", has_next_page: false } },
    });
    expect(error).toBeUndefined();
    expect(yielded).toEqual([
      {
        events: [expect.objectContaining({ nativeId: "a" }), expect.objectContaining({ nativeId: "b" })],
        checkpoint: { cursor: "c2" },
        watermark: END_OF_FEED,
      },
    ]);
    expect(requests.map((r) => r.query)).toEqual([
      { cursor: undefined, limit: 999 },
      { cursor: "c1", limit: 999 },
    ]);
  });

  it("refuses a record malformed on two reads of its page and moves past it with the others", async () => {
    const broken = { ...log("c", "2026-03-10T10:00:03Z"), object_type: undefined };
    const { yielded, requests, error } = await collect(
      {
        c1: { data: [log("a", "2026-03-10T10:00:01Z")], pagination: { cursor: "c2", has_next_page: true } },
        c2: {
          data: [log("b", "2026-03-10T10:00:02Z"), broken],
          pagination: { cursor: "c3", has_next_page: false },
        },
      },
      { cursor: "c1" },
    );
    expect(error).toBeUndefined();
    expect(yielded).toEqual([
      {
        events: [expect.objectContaining({ nativeId: "a" }), expect.objectContaining({ nativeId: "b" })],
        checkpoint: { cursor: "c3" },
        refused: [
          {
            position: "GET /audit-logs cursor=c2",
            reason:
              "source pylon-test: GET /audit-logs cursor=c2: malformed response (record id c): data.1.object_type: is required (string)",
            field: "data.1.object_type",
            raw: JSON.stringify(broken),
            format: "provider-record",
          },
        ],
        watermark: END_OF_FEED,
      },
    ]);
    expect(requests.map((r) => r.query?.cursor)).toEqual(["c1", "c2", "c2"]);
  });

  it("keeps the checkpoint moving through pages older than startFrom", async () => {
    const { yielded } = await collect({
      "": { data: [log("old", "2026-01-01T00:00:00Z")], pagination: { cursor: "c1", has_next_page: true } },
      c1: { data: [], pagination: { cursor: "c1", has_next_page: false } },
    });
    expect(yielded).toEqual([
      { events: [], checkpoint: { cursor: "c1" } },
      // The end of the feed moves the watermark: a quiet workspace holds no rule back.
      { events: [], checkpoint: { cursor: "c1" }, watermark: END_OF_FEED },
    ]);
  });

  it("remembers the startFrom bound while Pylon has handed out no cursor", async () => {
    const { yielded } = await collect({ "": { data: [], pagination: { cursor: "", has_next_page: false } } });
    expect(yielded).toEqual([
      { events: [], checkpoint: { notBefore: "2026-03-03T12:00:00.000Z" }, watermark: END_OF_FEED },
    ]);
  });

  it("refuses to loop on a cursor that does not move, and a checkpoint of another shape", async () => {
    const stuck = await collect({
      "": { data: [], pagination: { cursor: "c1", has_next_page: true } },
      c1: { data: [], pagination: { cursor: "c1", has_next_page: true } },
    });
    expect((stuck.error as Error).message).toContain(
      "GET /audit-logs cursor=c1: has_next_page is true but the cursor did not move",
    );
    const foreign = await collect({}, { until: "2026-03-10T00:00:00Z" });
    expect((foreign.error as Error).message).toMatch(/^source pylon-test: stored checkpoint is not a Pylon checkpoint/);
  });
});
