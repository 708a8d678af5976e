import { ConnectorError, silentLogger } from "@vigil/core";
import { BloodhoundSourceSchema, type BloodhoundSourceConfig } from "./bloodhound.config.js";
import { describe, expect, it } from "vitest";
import type { ConnectorDeps, ConnectorHttpOptions, SourcePage } from "../../kit/connector.js";
import type { HttpClient, HttpRequest } from "../../kit/http-client.js";
import {
  BLOODHOUND_DEFAULT_PAGE_SIZE,
  BLOODHOUND_DEFAULT_RATE_LIMIT,
  createBloodhoundConnector,
} from "./bloodhound.connector.js";

const BASE_URL = "https://bloodhound.corp.example";
const TOKEN = { tokenId: "9b1d7c2e-5f3a-4c8e-b2d1-7e6f5a4b3c2d", tokenKey: "bh-unit-test-token-key-0123456789" };
const NOW = new Date("2026-03-10T12:00:00.000Z");
const HOUR = 3_600_000;

interface Row {
  id: number;
  created_at: string;
  action: string;
  status: string;
  commit_id: string;
}

const row = (id: number, ms: number): Row => ({
  id,
  created_at: new Date(ms).toISOString(),
  action: "LoginAttempt",
  status: "success",
  commit_id: `c-${id}`,
});

type Query = Record<string, string>;

interface ServerOptions {
  /** Largest page the server serves, whatever the client asks. */
  maxLimit?: number;
  /** Serve from offset 0 whatever is asked, and do not echo `skip`. */
  ignoreOffset?: boolean;
  echoSkip?: (offset: number) => number;
  /** Called after each answer (to insert rows between pages). */
  afterAnswer?: (query: Query, rows: Row[]) => void;
  corrupt?: (query: Query, logs: unknown[]) => unknown[];
}

/** A fake `GET /api/v2/audit`: newest first (ties by id), both bounds inclusive, offset paging. */
function fakeServer(rows: Row[], options: ServerOptions = {}) {
  const queries: Query[] = [];
  const answer = (query: Query) => {
    queries.push(query);
    const after = Date.parse(query.after ?? "1970-01-01T00:00:00Z");
    const before = Date.parse(query.before ?? NOW.toISOString());
    const limit = Math.min(Number(query.limit ?? 1000), options.maxLimit ?? Infinity);
    const offset = options.ignoreOffset ? 0 : Number(query.offset ?? 0);
    const inWindow = rows
      .filter((r) => Date.parse(r.created_at) >= after && Date.parse(r.created_at) <= before)
      .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
    const logs: unknown[] = inWindow.slice(offset, offset + limit);
    const body = {
      count: rows.length,
      limit,
      ...(options.ignoreOffset ? {} : { skip: options.echoSkip ? options.echoSkip(offset) : offset }),
      data: { logs: options.corrupt ? options.corrupt(query, logs) : logs },
    };
    options.afterAnswer?.(query, rows);
    return body;
  };
  return { answer, queries };
}

function fakeDeps(answer: (query: Query) => unknown) {
  const built: ConnectorHttpOptions[] = [];
  const client = (options: ConnectorHttpOptions): HttpClient => ({
    source: options.source,
    async send<T>(request: HttpRequest<T>) {
      return { data: await this.request(request), status: 200, headers: new Headers() };
    },
    async request<T>(request: HttpRequest<T>): Promise<T> {
      expect(request.path).toBe("/api/v2/audit");
      const query = Object.fromEntries(Object.entries(request.query ?? {}).map(([k, v]) => [k, String(v)]));
      return request.parse.parse(answer(query));
    },
  });
  const deps = {
    createHttpClient: (options: ConnectorHttpOptions) => {
      built.push(options);
      return client(options);
    },
    logger: silentLogger,
  } as unknown as ConnectorDeps;
  return { deps, built };
}

function config(overrides: Record<string, unknown> = {}): BloodhoundSourceConfig {
  return BloodhoundSourceSchema.parse({
    name: "bh-prod",
    type: "bloodhound",
    baseUrl: BASE_URL,
    auth: TOKEN,
    startFrom: "1d",
    lookback: "10m",
    ...overrides,
  });
}

async function pullAll(connector: ReturnType<typeof createBloodhoundConnector>, from?: Record<string, unknown>) {
  const pages: SourcePage[] = [];
  for await (const page of connector.pull(from, { signal: new AbortController().signal, now: NOW })) pages.push(page);
  return { pages, ids: pages.flatMap((p) => p.events.map((e) => Number(e.nativeId))) };
}

/** 23 rows over the last day, with runs of rows sharing one instant. */
function sampleRows(): Row[] {
  const rows: Row[] = [];
  let id = 100;
  for (let i = 0; i < 15; i++) rows.push(row(id++, NOW.getTime() - 20 * HOUR + i * HOUR));
  for (let i = 0; i < 8; i++) rows.push(row(id++, NOW.getTime() - 2 * HOUR));
  return rows;
}

describe("BloodHound connector", () => {
  it("signs requests with the API token, or sends the JWT as a bearer token", () => {
    const signed = fakeDeps(() => ({ data: { logs: [] } }));
    createBloodhoundConnector(config(), signed.deps);
    expect(signed.built[0]).toMatchObject({
      source: "bh-prod",
      baseUrl: BASE_URL,
      secrets: [TOKEN.tokenKey],
      retryAfterHeaders: ["retry-after"],
      timeoutMs: 30_000,
    });
    expect(signed.built[0]?.sign).toBeTypeOf("function");
    expect(signed.built[0]?.headers).toBeUndefined();

    const jwt = fakeDeps(() => ({ data: { logs: [] } }));
    createBloodhoundConnector(config({ auth: { jwt: "eyJhbGciOiJIUzI1NiJ9.e30.sig" } }), jwt.deps);
    expect(jwt.built[0]).toMatchObject({ headers: { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig" } });
    expect(jwt.built[0]?.sign).toBeUndefined();
  });

  it("shares tollbooth's per-address budget by instance, and takes overrides", () => {
    const { deps, built } = fakeDeps(() => ({ data: { logs: [] } }));
    createBloodhoundConnector(config(), deps);
    createBloodhoundConnector(config({ rateLimit: { requests: 10, per: "1s" }, timeout: "5s" }), deps);
    expect(built[0]?.rateLimit).toEqual({ ...BLOODHOUND_DEFAULT_RATE_LIMIT, credentialId: `bloodhound:${BASE_URL}` });
    expect(built[1]).toMatchObject({
      timeoutMs: 5_000,
      rateLimit: { requests: 10, perMs: 1_000, credentialId: `bloodhound:${BASE_URL}` },
    });
    expect(BLOODHOUND_DEFAULT_RATE_LIMIT).toEqual({ requests: 55, perMs: 1_000 });
  });

  it("reads a window whole by offset with a fixed before, ordered by id within a timestamp, and yields it oldest first", async () => {
    const rows = sampleRows();
    const server = fakeServer(rows);
    const { pages, ids } = await pullAll(
      createBloodhoundConnector(config({ pageSize: 5 }), fakeDeps(server.answer).deps),
    );
    expect(ids).toEqual(rows.map((r) => r.id));
    expect(server.queries.map((q) => q.offset)).toEqual(["0", "5", "10", "15", "20"]);
    for (const q of server.queries) {
      expect(q).toMatchObject({
        after: "2026-03-09T12:00:00.000Z",
        before: NOW.toISOString(),
        sort_by: "-id",
        limit: "5",
      });
      expect(q.skip).toBe(q.offset);
    }
    expect(pages.at(-1)?.checkpoint).toMatchObject({ until: NOW.toISOString() });
  });

  it("asks for the server's default page size unless configured", async () => {
    const server = fakeServer(sampleRows());
    await pullAll(createBloodhoundConnector(config(), fakeDeps(server.answer).deps));
    expect(server.queries.map((q) => q.limit)).toEqual([String(BLOODHOUND_DEFAULT_PAGE_SIZE)]);
  });

  it("keeps paging when the server serves smaller pages than asked", async () => {
    const rows = sampleRows();
    const server = fakeServer(rows, { maxLimit: 4 });
    const { ids } = await pullAll(createBloodhoundConnector(config({ pageSize: 10 }), fakeDeps(server.answer).deps));
    expect(ids).toEqual(rows.map((r) => r.id));
    expect(server.queries.map((q) => q.offset)).toEqual(["0", "4", "8", "12", "16", "20"]);
  });

  it("loses nothing and doubles nothing when rows written during the read shift the offsets", async () => {
    const rows = sampleRows();
    let inserted = 0;
    const server = fakeServer(rows, {
      afterAnswer: (_query, all) => {
        // A row newer than everything read so far, inside the window: every later row moves one place down.
        if (inserted < 2) all.push(row(500 + inserted++, NOW.getTime() - HOUR));
      },
    });
    const { ids } = await pullAll(createBloodhoundConnector(config({ pageSize: 5 }), fakeDeps(server.answer).deps));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(sampleRows().map((r) => r.id)));
  });

  it("drops the row at the window's end (both bounds are inclusive) and reads it with the next window", async () => {
    const boundary = NOW.getTime() - 7 * 24 * HOUR;
    const rows = [row(1, boundary - 1), row(2, boundary), row(3, boundary + 1)];
    const server = fakeServer(rows);
    const { ids } = await pullAll(
      createBloodhoundConnector(config({ startFrom: "14d" }), fakeDeps(server.answer).deps),
    );
    expect(ids).toEqual([1, 2, 3]);
    expect(server.queries.map((q) => [q.after, q.before])).toEqual([
      [new Date(NOW.getTime() - 14 * 24 * HOUR).toISOString(), new Date(boundary).toISOString()],
      [new Date(boundary).toISOString(), NOW.toISOString()],
    ]);
  });

  it("refuses a row malformed the same way on two reads of its page, naming the page and the field, and keeps the others", async () => {
    const rows = sampleRows();
    const server = fakeServer(rows, {
      corrupt: (query, logs) =>
        query.offset === "5"
          ? logs.map((log, i) => (i === 2 ? { ...(log as Row), created_at: undefined } : log))
          : logs,
    });
    const { ids, pages } = await pullAll(
      createBloodhoundConnector(config({ pageSize: 5 }), fakeDeps(server.answer).deps),
    );
    expect(ids).toHaveLength(rows.length - 1);
    expect(ids).not.toContain(115);
    expect(pages.flatMap((p) => p.refused ?? [])).toEqual([
      {
        position: "GET /api/v2/audit after=2026-03-09T12:00:00.000Z before=2026-03-10T12:00:00.000Z offset=5 limit=5",
        reason:
          "source bh-prod: GET /api/v2/audit after=2026-03-09T12:00:00.000Z before=2026-03-10T12:00:00.000Z offset=5 limit=5: malformed response (record id 115): data.logs.2.created_at: is required (string)",
        field: "data.logs.2.created_at",
        raw: JSON.stringify({ ...rows.find((r) => r.id === 115), created_at: undefined }),
        format: "provider-record",
      },
    ]);
    // Read twice: the refusal is the provider's data, not a response corrupted on its way.
    expect(server.queries.filter((q) => q.offset === "5")).toHaveLength(2);
  });

  it("reads a page again while its malformed row differs between reads, then fails retryable; the page asked for ahead is aborted", async () => {
    const rows = sampleRows();
    let reads = 0;
    const server = fakeServer(rows, {
      corrupt: (query, logs) =>
        query.offset === "5"
          ? logs.map((log, i) => (i === 0 ? { ...(log as Row), id: `corrupt-${++reads}` } : log))
          : logs,
    });
    const signals: AbortSignal[] = [];
    const { deps } = fakeDeps((query) => server.answer(query));
    const createHttpClient = deps.createHttpClient;
    deps.createHttpClient = (options) => {
      const client = createHttpClient(options);
      return {
        ...client,
        request: (request) => {
          if (request.signal) signals.push(request.signal);
          return client.request(request);
        },
      };
    };
    const error = await pullAll(createBloodhoundConnector(config({ pageSize: 5 }), deps)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).retryable).toBe(true);
    expect((error as Error).message).toMatch(
      /offset=5 limit=5: malformed records differ from one read to the next \(.*data\.logs\.0\.id: .*\); the next pull reads the page again$/,
    );
    // The page after the malformed one was asked for before it was validated; its request is aborted.
    expect(server.queries.map((q) => q.offset)).toEqual(["0", "5", "10", "5", "5"]);
    expect(signals[2]?.aborted).toBe(true);
  });

  it("stops with a clear error when the server does not page by offset", async () => {
    const mismatch = fakeServer(sampleRows(), { echoSkip: () => 0 });
    await expect(
      pullAll(createBloodhoundConnector(config({ pageSize: 5 }), fakeDeps(mismatch.answer).deps)),
    ).rejects.toThrow(/offset=5 limit=5: the server answered for skip=0/);
    const ignoring = fakeServer(sampleRows(), { ignoreOffset: true });
    await expect(
      pullAll(createBloodhoundConnector(config({ pageSize: 5 }), fakeDeps(ignoring.answer).deps)),
    ).rejects.toThrow(/3 full pages in a row held no new row; the server seems to ignore the offset/);
    expect(ignoring.queries).toHaveLength(4);
  });

  it("checks with a one-row request", async () => {
    const server = fakeServer(sampleRows());
    await createBloodhoundConnector(config(), fakeDeps(server.answer).deps).check();
    expect(server.queries).toEqual([{ limit: "1" }]);
  });
});
