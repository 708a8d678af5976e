import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProviderSimulator, type ProviderSimulator } from "../provider-simulator.js";
import { assertUniqueIds, looksIntact, recentSpan, UNREACHABLE_LIMIT } from "../shared/test-support.js";
import { pylonProvider } from "./pylon.provider.js";
import type { PylonAuditLog } from "./pylon.records.js";

interface PylonPage {
  data: PylonAuditLog[];
  pagination: { cursor: string; has_next_page: boolean };
  request_id: string;
}

describe("Pylon audit-log simulator", () => {
  let sim: ProviderSimulator;
  let token: string;

  const get = (path: string, bearer = token) =>
    fetch(`${sim.baseUrl("pylon")}${path}`, { headers: { Authorization: `Bearer ${bearer}` } });
  const search = (body: unknown) =>
    fetch(`${sim.baseUrl("pylon")}/audit-logs/search`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });

  async function pageAll(limit: number, cursor?: string): Promise<{ pages: PylonPage[]; cursor: string }> {
    const pages: PylonPage[] = [];
    let next = cursor;
    for (;;) {
      const response = await get(`/audit-logs?limit=${limit}${next ? `&cursor=${encodeURIComponent(next)}` : ""}`);
      expect(response.status).toBe(200);
      const page = (await response.json()) as PylonPage;
      pages.push(page);
      next = page.pagination.cursor;
      if (!page.pagination.has_next_page) return { pages, cursor: next };
    }
  }

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["pylon"],
      records: { pylon: 250 },
      seed: 7,
      ...recentSpan(),
      rateLimit: { pylon: UNREACHABLE_LIMIT },
    });
    token = sim.credentials("pylon").token;
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => sim.setFaults(undefined));

  it("refuses a missing or unknown token with 401 and a non-admin token with 403, in Pylon's error body", async () => {
    const missing = await fetch(`${sim.baseUrl("pylon")}/audit-logs`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ errors: [expect.any(String)], request_id: expect.any(String) });
    const wrong = await get("/audit-logs", "not-a-token");
    expect(wrong.status).toBe(401);
    const forbidden = await get("/audit-logs", sim.credentials("pylon").forbiddenToken);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { errors: string[] }).errors).toHaveLength(1);
    expect((await get("/audit-logs")).status).toBe(200);
  });

  it("pages oldest first through exactly the ground truth, with timestamp ties across page boundaries", async () => {
    const { pages } = await pageAll(100);
    const served = pages.flatMap((p) => p.data);
    expect(served).toEqual(sim.groundTruth("pylon"));
    expect(served).toHaveLength(250);
    assertUniqueIds(served.map((r) => r.id));
    const times = served.map((r) => Date.parse(r.created_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Records 99 and 100 straddle the first page boundary and share their timestamp.
    expect(served[99]?.created_at).toBe(served[100]?.created_at);
    expect(pages.map((p) => p.data.length)).toEqual([100, 100, 50]);
  });

  it("takes limits from 1 to 999 (default 100) and refuses others with 400", async () => {
    for (const limit of ["0", "1000", "-1", "abc", "2.5"]) {
      const response = await get(`/audit-logs?limit=${limit}`);
      expect(response.status, `limit=${limit}`).toBe(400);
      expect(((await response.json()) as { errors: string[] }).errors[0]).toMatch(/limit/);
    }
    expect(((await (await get("/audit-logs?limit=999")).json()) as PylonPage).data.length).toBe(
      sim.groundTruth("pylon").length,
    );
    expect(((await (await get("/audit-logs?limit=1")).json()) as PylonPage).data).toHaveLength(1);
    expect(((await (await get("/audit-logs")).json()) as PylonPage).data).toHaveLength(100);
  });

  it("refuses a cursor it did not issue", async () => {
    const response = await get("/audit-logs?cursor=bm90LWEtY3Vyc29y");
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: string[] }).errors).toEqual(["invalid cursor"]);
  });

  it("searches by action and time range and validates the filter tree", async () => {
    const truth = sim.groundTruth("pylon");
    const logins = await search({
      limit: 999,
      filter: { field: "action", operator: "in", values: ["LoginFailed", "LoginSucceeded"] },
    });
    expect(logins.status).toBe(200);
    const loginData = ((await logins.json()) as PylonPage).data;
    expect(loginData).toEqual(truth.filter((r) => r.action === "LoginFailed" || r.action === "LoginSucceeded"));

    const happened = truth.map((r) => r.action_happened_at).sort();
    const [earliest = "", middle = ""] = [happened[0], happened[125]];
    const range = await search({
      limit: 999,
      filter: {
        operator: "and",
        subfilters: [
          { field: "action_happened_at", operator: "time_range", values: [earliest, middle] },
          { field: "action", operator: "not_in", values: ["IssueOpened"] },
        ],
      },
    });
    const ranged = ((await range.json()) as PylonPage).data;
    const expected = truth.filter((r) => r.action_happened_at < middle && r.action !== "IssueOpened");
    expect(ranged.map((r) => r.id).sort()).toEqual(expected.map((r) => r.id).sort());

    const tooDeep = {
      operator: "and",
      subfilters: [
        {
          operator: "or",
          subfilters: [{ operator: "and", subfilters: [{ field: "action", operator: "equals", value: "X" }] }],
        },
      ],
    };
    for (const filter of [
      tooDeep,
      { field: "object_type", operator: "equals", value: "user" },
      { field: "action", operator: "time_is_after", value: middle },
    ]) {
      const response = await search({ filter });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errors: string[] }).errors[0]).toMatch(/^invalid filter/);
    }
  });

  it("injects each fault kind at rate 1, leaving the data intact", async () => {
    const before = sim.groundTruth("pylon");
    sim.setFaults({ rate: 1, kinds: ["500"] });
    const failed = await get("/audit-logs");
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ errors: [expect.any(String)], request_id: expect.any(String) });

    sim.setFaults({ rate: 1, kinds: ["429"] });
    const limited = await get("/audit-logs");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("x-retry-after"))).toBeGreaterThan(0);

    sim.setFaults({ rate: 1, kinds: ["slow"], maxDelayMs: 20 });
    expect((await get("/audit-logs?limit=5")).status).toBe(200);
    expect(sim.requestLog.at(-1)?.fault).toBe("slow");

    sim.setFaults({ rate: 1, kinds: ["malformed"] });
    for (let i = 0; i < 4; i++) {
      const response = await get("/audit-logs?limit=5");
      expect(response.status).toBe(200);
      expect(looksIntact(await response.text(), (b) => (b as PylonPage).data, pylonProvider.requiredFields)).toBe(
        false,
      );
    }
    sim.setFaults(undefined);
    expect(sim.groundTruth("pylon")).toEqual(before);
  });

  it("serves appended records, generated or drafted, from the cursor saved at the end of the feed", async () => {
    const { cursor } = await pageAll(999);
    const generated = sim.append("pylon", 3);
    const drafted = sim.append("pylon", [{ action: "LoginFailed", metadata: { ip_address: "203.0.113.66" } }]);
    expect(drafted[0]).toMatchObject({
      action: "LoginFailed",
      object_type: "user",
      metadata: { ip_address: "203.0.113.66", user_agent: expect.any(String) },
    });
    const { pages } = await pageAll(100, cursor);
    expect(pages.flatMap((p) => p.data)).toEqual([...generated, ...drafted]);
  });
});

describe("Pylon rate limit", () => {
  it("answers 429 with X-Retry-After and X-Rate-Limit-Remaining: 0 once an endpoint's budget is spent", async () => {
    const sim = await startProviderSimulator({
      providers: ["pylon"],
      records: { pylon: 5 },
      rateLimit: { pylon: { requests: 3, perMs: 60_000 } },
    });
    try {
      const headers = { Authorization: `Bearer ${sim.credentials("pylon").token}` };
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${sim.baseUrl("pylon")}/audit-logs`, { headers });
        expect(response.status).toBe(200);
        remaining.push(response.headers.get("x-rate-limit-remaining"));
      }
      expect(remaining).toEqual(["2", "1", "0"]);
      const refused = await fetch(`${sim.baseUrl("pylon")}/audit-logs`, { headers });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("x-retry-after"))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get("x-rate-limit-remaining")).toBe("0");
      expect(((await refused.json()) as { errors: string[] }).errors).toHaveLength(1);
      // Each endpoint has its own budget: search still answers.
      const searched = await fetch(`${sim.baseUrl("pylon")}/audit-logs/search`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: "{}",
      });
      expect(searched.status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});
