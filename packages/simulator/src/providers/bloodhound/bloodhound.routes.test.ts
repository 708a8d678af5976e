import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProviderSimulator, type ProviderSimulator } from "../provider-simulator.js";
import { assertUniqueIds, looksIntact, recentSpan, UNREACHABLE_LIMIT } from "../shared/test-support.js";
import { bloodhoundProvider } from "./bloodhound.provider.js";
import type { BloodHoundAuditLog } from "./bloodhound.records.js";
import { bloodHoundSignature, signBloodHoundRequest } from "./bloodhound.signature.js";

interface AuditPage {
  count: number;
  limit: number;
  skip: number;
  data: { logs: BloodHoundAuditLog[] };
}
interface ErrorWrapper {
  http_status: number;
  timestamp: string;
  request_id: string;
  errors: { context: string; message: string }[];
}

const HOUR_MS = 3_600_000;

describe("BloodHound request signature", () => {
  it("matches the HMAC-SHA256 chain's reference vectors", () => {
    const tokenKey = "TESTKEY-not-a-real-key";
    expect(
      bloodHoundSignature({
        tokenKey,
        method: "GET",
        requestUri: "/api/v2/audit?limit=2&after=2024-11-22T00:00:00Z",
        requestDate: "2024-11-22T13:28:27Z",
      }),
    ).toBe("gDvmqjZkEguzFwFqQJvGCBkPkjDpgFqpz1QnlcVBbbc=");
    expect(
      bloodHoundSignature({
        tokenKey,
        method: "GET",
        requestUri: "/api/v2/audit",
        requestDate: "2024-11-22T13:05:00Z",
      }),
    ).toBe("SU8OYTFjlfiFyehUH+dLO3C4tvNUtGOEfw7GtIi0o5Q=");
  });
});

describe("BloodHound audit-log simulator", () => {
  let sim: ProviderSimulator;

  const url = (pathAndQuery: string) => `${sim.baseUrl("bloodhound")}${pathAndQuery}`;
  const withJwt = (pathAndQuery: string, headers: Record<string, string> = {}) =>
    fetch(url(pathAndQuery), { headers: { Authorization: `Bearer ${sim.credentials("bloodhound").jwt}`, ...headers } });
  const signed = (
    pathAndQuery: string,
    options: { tokenKey?: string; tokenId?: string; date?: Date; requestUri?: (u: URL) => string } = {},
  ) => {
    const target = new URL(url(pathAndQuery));
    const { tokenId, tokenKey } = sim.credentials("bloodhound");
    const headers = signBloodHoundRequest({
      tokenId: options.tokenId ?? tokenId,
      tokenKey: options.tokenKey ?? tokenKey,
      method: "GET",
      requestUri: options.requestUri ? options.requestUri(target) : target.pathname + target.search,
      ...(options.date ? { date: options.date } : {}),
    });
    return fetch(target, { headers });
  };
  const page = async (response: Response) => {
    expect(response.status).toBe(200);
    return (await response.json()) as AuditPage;
  };
  const failure = async (response: Response, status: number) => {
    expect(response.status).toBe(status);
    const body = (await response.json()) as ErrorWrapper;
    expect(body).toMatchObject({ http_status: status, timestamp: expect.any(String), request_id: expect.any(String) });
    expect(body.errors).toHaveLength(1);
    return body.errors[0]?.message ?? "";
  };

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["bloodhound"],
      records: { bloodhound: 240 },
      seed: 9,
      ...recentSpan(),
      rateLimit: { bloodhound: UNREACHABLE_LIMIT },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => sim.setFaults(undefined));

  it("refuses missing, malformed and unknown authorization with BloodHound's wrapper", async () => {
    expect(await failure(await fetch(url("/api/v2/audit")), 401)).toBe("not authenticated");
    expect(await failure(await fetch(url("/api/v2/audit"), { headers: { Authorization: "Bearer a b" } }), 400)).toBe(
      "Expected only two components for the Authorization header.",
    );
    expect(await failure(await fetch(url("/api/v2/audit"), { headers: { Authorization: "Basic abc" } }), 400)).toBe(
      "Unexpected authorization scheme: basic.",
    );
    expect(
      await failure(await fetch(url("/api/v2/audit"), { headers: { Authorization: "Bearer not.a.jwt" } }), 401),
    ).toBe("Token Authorization failed.");
    expect((await withJwt("/api/v2/audit?limit=1")).status).toBe(200);
  });

  it("accepts a correctly signed request and refuses bad keys, stale dates and malformed signing headers", async () => {
    expect((await signed("/api/v2/audit?limit=2&after=2020-01-01T00:00:00Z")).status).toBe(200);
    // A real server sees no routing prefix; a signature over the path without it is accepted too.
    expect(
      (await signed("/api/v2/audit?limit=2", { requestUri: (u) => u.pathname.replace(/^\/bloodhound/, "") + u.search }))
        .status,
    ).toBe(200);
    expect(await failure(await signed("/api/v2/audit", { tokenKey: "wrong-key" }), 401)).toMatch(
      /signature digest mismatch$/,
    );
    expect(
      await failure(
        await signed("/api/v2/audit?limit=5", { requestUri: () => "/bloodhound/api/v2/audit?limit=500" }),
        401,
      ),
    ).toMatch(/digest mismatch/);
    const stale = await failure(await signed("/api/v2/audit", { date: new Date(Date.now() - 2 * HOUR_MS) }), 401);
    expect(stale).toMatch(
      /^unable to validate request signature for client: signature too far behind by \d+\.\d\d minutes\. Server time is /,
    );
    expect(await failure(await signed("/api/v2/audit", { date: new Date(Date.now() + 2 * HOUR_MS) }), 401)).toMatch(
      /too far ahead/,
    );
    expect((await signed("/api/v2/audit", { date: new Date(Date.now() - 50 * 60_000) })).status).toBe(200);
    expect(await failure(await signed("/api/v2/audit", { tokenId: "not-a-uuid" }), 400)).toBe("Token ID is malformed.");
    expect(
      await failure(await signed("/api/v2/audit", { tokenId: "00000000-0000-4000-8000-000000000000" }), 401),
    ).toMatch(/resource not found$/);
    const { tokenId } = sim.credentials("bloodhound");
    const noDate = await fetch(url("/api/v2/audit"), {
      headers: { Authorization: `bhesignature ${tokenId}`, Signature: "AAAA" },
    });
    expect(await failure(noDate, 400)).toBe("unable to validate request signature for client: no request date header");
  });

  it("answers a user without the permission with 403 and records an UnauthorizedAccessAttempt", async () => {
    const before = sim.groundTruth("bloodhound").length;
    const response = await fetch(url("/api/v2/audit"), {
      headers: { Authorization: `Bearer ${sim.credentials("bloodhound").forbiddenJwt}` },
    });
    expect(await failure(response, 403)).toBe("not authorized");
    const truth = sim.groundTruth("bloodhound");
    expect(truth).toHaveLength(before + 1);
    expect(truth[0]).toMatchObject({
      action: "UnauthorizedAccessAttempt",
      status: "failure",
      actor_name: "readonly-analyst",
    });
  });

  it("pages newest first with offset (or skip) and limit through exactly the ground truth", async () => {
    const truth = sim.groundTruth("bloodhound");
    for (const offsetName of ["offset", "skip"]) {
      const served: BloodHoundAuditLog[] = [];
      for (let offset = 0; ; offset += 100) {
        const body = await page(await withJwt(`/api/v2/audit?limit=100&${offsetName}=${offset}`));
        expect(body).toMatchObject({ count: truth.length, limit: 100, skip: offset });
        served.push(...body.data.logs);
        if (body.data.logs.length < 100) break;
      }
      expect(served).toEqual(truth);
      assertUniqueIds(served.map((r) => r.id));
    }
    expect(truth[99]?.created_at).toBe(truth[100]?.created_at);
    const all = await page(await withJwt("/api/v2/audit"));
    expect(all.limit).toBe(1000);
    expect(all.data.logs).toEqual(truth);
  });

  it("pairs every outcome row with an earlier intent row sharing its commit_id", async () => {
    const rows = sim.groundTruth("bloodhound");
    const intents = new Map(rows.filter((r) => r.status === "intent").map((r) => [r.commit_id, r]));
    const outcomes = rows.filter((r) => r.status !== "intent" && r.action !== "UnauthorizedAccessAttempt");
    expect(outcomes.length).toBeGreaterThan(50);
    for (const outcome of outcomes) {
      const intent = intents.get(outcome.commit_id);
      expect(intent, `intent of ${outcome.id}`).toMatchObject({
        action: outcome.action,
        request_id: outcome.request_id,
      });
      expect(intent?.id).toBeLessThan(outcome.id);
    }
    expect(
      rows.some((r) => r.action === "LoginAttempt" && r.status === "failure" && typeof r.fields.error === "string"),
    ).toBe(true);
  });

  it("windows with inclusive before and after, and counts ignoring the window", async () => {
    const truth = sim.groundTruth("bloodhound");
    const instant = truth[37]?.created_at ?? "";
    const exact = await page(await withJwt(`/api/v2/audit?after=${instant}&before=${instant}`));
    expect(exact.data.logs.map((r) => r.id)).toContain(truth[37]?.id);
    expect(exact.data.logs.every((r) => r.created_at === instant)).toBe(true);
    expect(exact.count).toBe(truth.length);
    const older = truth[120]?.created_at ?? "";
    const span = await page(await withJwt(`/api/v2/audit?after=${older}&before=${instant}`));
    const inSpan = (r: BloodHoundAuditLog) =>
      Date.parse(r.created_at) >= Date.parse(older) && Date.parse(r.created_at) <= Date.parse(instant);
    expect(span.data.logs.map((r) => r.id)).toEqual(truth.filter(inSpan).map((r) => r.id));
    expect(await failure(await withJwt("/api/v2/audit?before=yesterday"), 400)).toMatch(
      /^query parameter "before" is malformed/,
    );
  });

  it("validates limit, filters and sort_by the way the handler does", async () => {
    expect(await failure(await withJwt("/api/v2/audit?limit=-1"), 400)).toMatch(
      /^query parameter "limit" is malformed/,
    );
    expect(await failure(await withJwt("/api/v2/audit?limit=ten"), 400)).toMatch(
      /^query parameter "limit" is malformed/,
    );
    expect(await failure(await withJwt("/api/v2/audit?action=~eq:Login"), 400)).toBe(
      "the specified filter predicate is not supported for this column: action ~eq",
    );
    expect(await failure(await withJwt("/api/v2/audit?fields=eq:x"), 400)).toBe(
      "the specified column cannot be filtered: fields",
    );
    expect(await failure(await withJwt("/api/v2/audit?action=zz:LoginAttempt"), 400)).toBe(
      "there are errors in the query parameter filters specified",
    );
    expect(await failure(await withJwt("/api/v2/audit?sort_by=fields"), 400)).toBe(
      "column format does not support sorting",
    );

    const truth = sim.groundTruth("bloodhound");
    const failedLogins = await page(await withJwt("/api/v2/audit?action=eq:LoginAttempt&status=eq:failure"));
    expect(failedLogins.data.logs).toEqual(truth.filter((r) => r.action === "LoginAttempt" && r.status === "failure"));
    expect(failedLogins.count).toBe(failedLogins.data.logs.length);
    const minId = truth.at(-1)?.id ?? 0;
    const newer = await page(await withJwt(`/api/v2/audit?id=gt:${minId + 10}`));
    expect(newer.data.logs).toEqual(truth.filter((r) => r.id > minId + 10));
    // sort_by only breaks ties: created_at stays descending.
    const sorted = await page(await withJwt("/api/v2/audit?sort_by=created_at"));
    expect(sorted.data.logs.map((r) => r.id)).toEqual(truth.map((r) => r.id));
  });

  it("orders ties by sort_by alike in pages cut through them and in the whole window, filtered or not", async () => {
    const truth = sim.groundTruth("bloodhound");
    const time = (r: BloodHoundAuditLog) => Date.parse(r.created_at.replace(/(\.\d{3})\d*Z$/, "$1Z"));
    const micros = (r: BloodHoundAuditLog) => Number(/\.(\d+)Z$/.exec(r.created_at)?.[1]?.padEnd(6, "0") ?? 0);
    // Newest first by the exact instant, then ties by id in the asked direction.
    const expected = (rows: BloodHoundAuditLog[], direction: 1 | -1) =>
      [...rows].sort((a, b) => time(b) - time(a) || micros(b) - micros(a) || direction * (a.id - b.id));
    const after = truth[180]?.created_at ?? "";
    const before = truth[20]?.created_at ?? "";
    const inWindow = truth.filter(
      (r) =>
        time(r) >= time({ created_at: after } as BloodHoundAuditLog) &&
        time(r) <= time({ created_at: before } as BloodHoundAuditLog),
    );
    for (const [sortBy, direction, filter] of [
      ["id", 1, ""],
      ["-id", -1, ""],
      ["id", 1, "&status=eq:success"],
    ] as const) {
      const rows = filter === "" ? inWindow : inWindow.filter((r) => r.status === "success");
      const query = `/api/v2/audit?after=${after}&before=${before}&sort_by=${sortBy}${filter}`;
      const whole = await page(await withJwt(`${query}&limit=0`));
      expect(whole.data.logs.map((r) => r.id)).toEqual(expected(rows, direction).map((r) => r.id));
      const paged: BloodHoundAuditLog[] = [];
      // Pages of 7 end inside runs of equal timestamps.
      for (let offset = 0; offset <= rows.length; offset += 7)
        paged.push(...(await page(await withJwt(`${query}&limit=7&offset=${offset}`))).data.logs);
      expect(paged).toEqual(whole.data.logs);
    }
    expect(new Set(inWindow.map((r) => r.created_at)).size).toBeLessThan(inWindow.length);
  });

  it("checks the Prefer header first and echoes Preference-Applied", async () => {
    const bad = await withJwt("/api/v2/audit?limit=1", { Prefer: "wait=soon" });
    expect(await failure(bad, 400)).toMatch(/^Prefer header has an invalid value/);
    const good = await withJwt("/api/v2/audit?limit=1", { Prefer: "wait=10" });
    expect(good.headers.get("preference-applied")).toBe("wait=10.00");
    expect(good.headers.get("requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("injects each fault kind at rate 1, leaving the data intact", async () => {
    const before = sim.groundTruth("bloodhound");
    sim.setFaults({ rate: 1, kinds: ["500"] });
    expect(await failure(await withJwt("/api/v2/audit?limit=5"), 500)).toMatch(/internal error/);
    sim.setFaults({ rate: 1, kinds: ["429"] });
    const limited = await withJwt("/api/v2/audit?limit=5");
    expect(limited.headers.get("x-rate-limit-limit")).toBeTruthy();
    expect(await limited.json()).toMatchObject({ http_status: 429, errors: [{ context: "middleware" }] });
    sim.setFaults({ rate: 1, kinds: ["slow"], maxDelayMs: 20 });
    expect((await withJwt("/api/v2/audit?limit=5")).status).toBe(200);
    expect(sim.requestLog.at(-1)?.fault).toBe("slow");
    sim.setFaults({ rate: 1, kinds: ["malformed"] });
    for (let i = 0; i < 4; i++) {
      const text = await (await withJwt("/api/v2/audit?limit=5")).text();
      expect(looksIntact(text, (b) => (b as AuditPage).data.logs, bloodhoundProvider.requiredFields)).toBe(false);
    }
    sim.setFaults(undefined);
    expect(sim.groundTruth("bloodhound")).toEqual(before);
  });

  it("appends a drafted failed login as an intent row plus its failure, served first", async () => {
    const added = sim.append("bloodhound", [
      { action: "LoginAttempt", status: "failure", fields: { username: "administrator" } },
    ]);
    expect(added).toHaveLength(2);
    const [intent, outcome] = added;
    expect(intent).toMatchObject({
      status: "intent",
      action: "LoginAttempt",
      fields: { username: "administrator" },
      actor_id: "",
    });
    expect(outcome).toMatchObject({
      status: "failure",
      fields: { username: "administrator", error: expect.any(String) },
      commit_id: intent?.commit_id,
    });
    const generated = sim.append("bloodhound", 4);
    const top = await page(await withJwt("/api/v2/audit?limit=6"));
    expect(top.data.logs).toEqual([...added, ...generated].reverse());
  });
});

describe("BloodHound rate limit", () => {
  it("answers tollbooth's 429 in the error wrapper once the per-address budget is spent", async () => {
    const sim = await startProviderSimulator({
      providers: ["bloodhound"],
      records: { bloodhound: 6 },
      rateLimit: { bloodhound: { requests: 2, perMs: 60_000 } },
    });
    try {
      const call = () =>
        fetch(`${sim.baseUrl("bloodhound")}/api/v2/audit`, {
          headers: { Authorization: `Bearer ${sim.credentials("bloodhound").jwt}` },
        });
      expect((await call()).status).toBe(200);
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(refused.headers.get("x-rate-limit-duration")).toBe("1");
      expect(Number(refused.headers.get("x-rate-limit-limit"))).toBeCloseTo(2 / 60, 2);
      expect(await refused.json()).toMatchObject({
        http_status: 429,
        request_id: "",
        errors: [{ context: "middleware", message: "You have reached maximum request limit." }],
      });
    } finally {
      await sim.close();
    }
  });
});
