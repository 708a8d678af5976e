import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProviderSimulator, type ProviderSimulator } from "../provider-simulator.js";
import { assertUniqueIds, basic, looksIntact, recentSpan, UNREACHABLE_LIMIT } from "../shared/test-support.js";
import { ashbyProvider } from "./ashby.provider.js";
import type { AshbyAuditLogEntry } from "./ashby.records.js";

interface AshbyPage {
  success: true;
  results: AshbyAuditLogEntry[];
  moreDataAvailable: boolean;
  nextCursor?: string;
}
interface AshbyFailureBody {
  success: false;
  errors: string[];
  errorInfo: { code: string; message: string; requestId: string };
}

const HOUR_MS = 3_600_000;

describe("Ashby audit-log simulator", () => {
  let sim: ProviderSimulator;
  let span: { start: Date; end: Date };
  let fullWindow: { startDate: string; endDate: string };

  const call = (body: unknown, init: { authorization?: string | null; contentType?: string } = {}) => {
    const headers: Record<string, string> = { "Content-Type": init.contentType ?? "application/json" };
    const authorization =
      init.authorization === undefined ? basic(sim.credentials("ashby").apiKey, "") : init.authorization;
    if (authorization !== null) headers.Authorization = authorization;
    return fetch(`${sim.baseUrl("ashby")}/auditLog.list`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  };
  const results = async (body: unknown) => {
    const response = await call(body);
    expect(response.status).toBe(200);
    const page = (await response.json()) as AshbyPage;
    expect(page.success).toBe(true);
    return page;
  };

  async function pageAll(
    body: Record<string, unknown>,
  ): Promise<{ pages: AshbyPage[]; records: AshbyAuditLogEntry[] }> {
    const pages: AshbyPage[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await results({ ...body, ...(cursor ? { cursor } : {}) });
      pages.push(page);
      if (!page.moreDataAvailable) return { pages, records: pages.flatMap((p) => p.results) };
      cursor = page.nextCursor;
      expect(cursor).toBeTruthy();
    }
  }

  beforeAll(async () => {
    span = recentSpan();
    fullWindow = { startDate: span.start.toISOString(), endDate: new Date(span.end.getTime() + 1).toISOString() };
    sim = await startProviderSimulator({
      providers: ["ashby"],
      records: { ashby: 240 },
      seed: 5,
      ...span,
      rateLimit: { ashby: UNREACHABLE_LIMIT },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => sim.setFaults(undefined));

  it("takes the API key as the Basic user name, and refuses others with Ashby's failure body", async () => {
    const missing = await call({}, { authorization: null });
    expect(missing.status).toBe(401);
    const body = (await missing.json()) as AshbyFailureBody;
    expect(body).toMatchObject({ success: false, errors: ["unauthenticated"], errorInfo: { code: "unauthenticated" } });
    expect(missing.headers.get("x-ashby-request-id")).toBe(body.errorInfo.requestId);
    expect(body.errorInfo.requestId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    const wrong = await call({}, { authorization: basic("not-a-key", "") });
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as AshbyFailureBody).errors).toEqual(["invalid_api_key"]);
    const forbidden = await call({}, { authorization: basic(sim.credentials("ashby").forbiddenApiKey, "") });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as AshbyFailureBody).errors).toEqual(["missing_endpoint_permission"]);
    expect((await call(fullWindow)).status).toBe(200);
  });

  it("pages newest first through exactly the ground truth with nextCursor, ties across page boundaries", async () => {
    const { pages, records } = await pageAll({ ...fullWindow });
    expect(records).toEqual(sim.groundTruth("ashby"));
    assertUniqueIds(records.map((r) => r.id));
    expect(pages.map((p) => p.results.length)).toEqual([100, 100, 40]);
    expect(pages.at(-1)?.nextCursor).toBeUndefined();
    expect(records[99]?.createdAt).toBe(records[100]?.createdAt);
  });

  it("defaults a missing bound to 24 hours from the other, start inclusive and end exclusive", async () => {
    const truth = sim.groundTruth("ashby");
    const anchor = truth[150]?.createdAt ?? "";
    const dayAfter = new Date(Date.parse(anchor) + 24 * HOUR_MS).toISOString();
    const dayBefore = new Date(Date.parse(anchor) - 24 * HOUR_MS).toISOString();
    const fromStart = await pageAll({ startDate: anchor });
    expect(fromStart.records).toEqual(truth.filter((r) => r.createdAt >= anchor && r.createdAt < dayAfter));
    expect(fromStart.records.map((r) => r.id)).toContain(truth[150]?.id);
    const toEnd = await pageAll({ endDate: anchor });
    expect(toEnd.records).toEqual(truth.filter((r) => r.createdAt >= dayBefore && r.createdAt < anchor));
    expect(toEnd.records.map((r) => r.id)).not.toContain(truth[150]?.id);
    // With no bounds the window is the last 24 hours, and these records end a day ago.
    expect((await results({})).results).toEqual([]);
  });

  it("refuses spans over 18 months, reversed or invalid dates and limits over 100 with HTTP 200 invalid_input", async () => {
    for (const body of [
      { startDate: "2024-01-01T00:00:00Z", endDate: "2025-07-01T00:00:00.001Z" },
      { startDate: "2025-02-01T00:00:00Z", endDate: "2025-01-01T00:00:00Z" },
      { startDate: "yesterday" },
      { limit: 101 },
      { limit: 0 },
    ]) {
      const response = await call(body);
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(await response.json()).toMatchObject({
        success: false,
        errors: ["invalid_input"],
        errorInfo: { code: "invalid_input" },
      });
    }
    expect((await results({ startDate: "2024-01-01T00:00:00Z", endDate: "2025-07-01T00:00:00Z" })).success).toBe(true);
  });

  it("refuses values outside the vocabulary and lists over 100 items with HTTP 400", async () => {
    for (const body of [
      { categories: ["NoSuchCategory"] },
      { targetTypes: ["spaceship"] },
      { actorIds: Array.from({ length: 101 }, (_, i) => `a${i}`) },
    ]) {
      const response = await call(body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ success: false, errors: ["invalid_input"] });
    }
  });

  it("combines targetTypes and categories with OR, and the id filters with AND", async () => {
    const truth = sim.groundTruth("ashby");
    const { records } = await pageAll({ ...fullWindow, targetTypes: ["app_user"], categories: ["JobStatusChanged"] });
    expect(records).toEqual(truth.filter((r) => r.target.type === "app_user" || r.category === "JobStatusChanged"));
    const someActor = truth.find((r) => r.actor.type === "User")?.actor.id ?? "";
    const byActor = await pageAll({ ...fullWindow, actorIds: [someActor], categories: ["ApplicationStageChanged"] });
    expect(byActor.records).toEqual(
      truth.filter((r) => r.actor.id === someActor && r.category === "ApplicationStageChanged"),
    );
  });

  it("binds the cursor to its parameters: garbage is cursor_invalid, another window gets an empty page", async () => {
    const first = await results({ ...fullWindow });
    const garbage = await call({ ...fullWindow, cursor: "garbage" });
    expect(garbage.status).toBe(200);
    expect(await garbage.json()).toMatchObject({ success: false, errors: ["cursor_invalid"] });
    const mismatched = await results({ startDate: span.start.toISOString(), cursor: first.nextCursor });
    expect(mismatched).toEqual({ success: true, results: [], moreDataAvailable: false });
  });

  it("ignores a body not sent as application/json, like an Express JSON parser", async () => {
    const asText = await call(JSON.stringify(fullWindow), { contentType: "text/plain" });
    expect(asText.status).toBe(200);
    expect(((await asText.json()) as AshbyPage).results).toEqual([]);
    expect((await results(fullWindow)).results).toHaveLength(100);
  });

  it("injects each fault kind at rate 1, leaving the data intact", async () => {
    const before = sim.groundTruth("ashby");
    sim.setFaults({ rate: 1, kinds: ["500"] });
    const failed = await call(fullWindow);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ success: false, errorInfo: { code: "internal_error" } });
    sim.setFaults({ rate: 1, kinds: ["429"] });
    const limited = await call(fullWindow);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    sim.setFaults({ rate: 1, kinds: ["slow"], maxDelayMs: 20 });
    expect((await call(fullWindow)).status).toBe(200);
    expect(sim.requestLog.at(-1)?.fault).toBe("slow");
    sim.setFaults({ rate: 1, kinds: ["malformed"] });
    for (let i = 0; i < 4; i++) {
      const text = await (await call({ ...fullWindow, limit: 5 })).text();
      expect(looksIntact(text, (b) => (b as AshbyPage).results, ashbyProvider.requiredFields)).toBe(false);
    }
    sim.setFaults(undefined);
    expect(sim.groundTruth("ashby")).toEqual(before);
  });

  it("serves appended records in the default last-24-hours window", async () => {
    const generated = sim.append("ashby", 3);
    const drafted = sim.append("ashby", [{ category: "AppUserPermissionsChanged", actor: { type: "Support" } }]);
    expect(drafted[0]).toMatchObject({
      category: "AppUserPermissionsChanged",
      actor: { type: "Support", name: "Ashby Support" },
      target: { type: "app_user" },
    });
    const page = await results({});
    expect(page.results).toEqual([...generated, ...drafted].reverse());
  });
});

describe("Ashby rate limit", () => {
  it("answers 429 with Retry-After and rate_limit_exceeded once the key's budget is spent", async () => {
    const sim = await startProviderSimulator({
      providers: ["ashby"],
      records: { ashby: 5 },
      rateLimit: { ashby: { requests: 2, perMs: 60_000 } },
    });
    try {
      const call = () =>
        fetch(`${sim.baseUrl("ashby")}/auditLog.list`, {
          method: "POST",
          headers: { Authorization: basic(sim.credentials("ashby").apiKey, ""), "Content-Type": "application/json" },
          body: "{}",
        });
      expect((await call()).status).toBe(200);
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toMatchObject({ success: false, errors: ["rate_limit_exceeded"] });
    } finally {
      await sim.close();
    }
  });
});
