import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProviderSimulator, type ProviderSimulator } from "../provider-simulator.js";
import { assertUniqueIds, looksIntact, recentSpan, UNREACHABLE_LIMIT } from "../shared/test-support.js";
import { logfireProvider } from "./logfire.provider.js";
import type { LogfireAuditLog } from "./logfire.records.js";

const DAY_MS = 86_400_000;
/** The documented query format, YYYY-MM-DDTHH:MM:SSZ. */
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

describe("Logfire audit-log simulator", () => {
  let sim: ProviderSimulator;
  let span: { start: Date; end: Date };
  let from: string;
  let to: string;

  const get = (path: string, token = sim.credentials("logfire").apiKey) =>
    fetch(`${sim.baseUrl("logfire")}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const list = async (query: string): Promise<LogfireAuditLog[]> => {
    const response = await get(`/v1/audit-logs/?${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as LogfireAuditLog[];
  };

  beforeAll(async () => {
    span = recentSpan();
    from = seconds(span.start.getTime() - 1_000);
    to = seconds(span.end.getTime() + 1_000);
    sim = await startProviderSimulator({
      providers: ["logfire"],
      records: { logfire: 200 },
      seed: 3,
      ...span,
      rateLimit: { logfire: UNREACHABLE_LIMIT },
    });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => sim.setFaults(undefined));

  it("takes the organization key as a bearer token and refuses others with FastAPI's detail body", async () => {
    const missing = await fetch(`${sim.baseUrl("logfire")}/v1/audit-logs/?start_time=${from}`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ detail: "Not authenticated" });
    expect((await get(`/v1/audit-logs/?start_time=${from}`, "pylf_wrong")).status).toBe(401);
    const forbidden = await get(`/v1/audit-logs/?start_time=${from}`, sim.credentials("logfire").forbiddenApiKey);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ detail: "The token does not have access to this organization." });
  });

  it("returns the whole window as one bare array, newest first, equal to the ground truth", async () => {
    const rows = await list(`start_time=${from}&end_time=${to}`);
    expect(rows).toEqual(sim.groundTruth("logfire"));
    expect(rows).toHaveLength(200);
    assertUniqueIds(rows.map((r) => r.id));
    expect(rows[0]).not.toHaveProperty("downgrade_patches");
  });

  it("treats start_time as inclusive and end_time as exclusive, so adjacent windows neither overlap nor miss", async () => {
    const cuts = [from, seconds(span.start.getTime() + 2.5 * DAY_MS), seconds(span.start.getTime() + 5 * DAY_MS), to];
    const chunks: LogfireAuditLog[][] = [];
    for (let i = cuts.length - 1; i > 0; i--) chunks.push(await list(`start_time=${cuts[i - 1]}&end_time=${cuts[i]}`));
    expect(chunks.flat()).toEqual(sim.groundTruth("logfire"));

    const boundary = seconds(span.start.getTime() + DAY_MS);
    const [planted] = sim.append("logfire", [{ created_at: boundary, action: "DELETE", resource_type: "projects" }]);
    expect(planted?.created_at).toBe(boundary);
    expect(
      (await list(`start_time=${boundary}&end_time=${seconds(Date.parse(boundary) + 1_000)}`)).map((r) => r.id),
    ).toContain(planted?.id);
    expect((await list(`start_time=${from}&end_time=${boundary}`)).map((r) => r.id)).not.toContain(planted?.id);
  });

  it("requires start_time (422) and caps the window at 90 days (400)", async () => {
    const missing = await get("/v1/audit-logs/");
    expect(missing.status).toBe(422);
    expect(await missing.json()).toEqual({
      detail: [{ type: "missing", loc: ["query", "start_time"], msg: "Field required", input: null }],
    });
    const garbled = await get("/v1/audit-logs/?start_time=last-week&action=EXPORT");
    expect(garbled.status).toBe(422);
    expect(((await garbled.json()) as { detail: { loc: string[] }[] }).detail.map((d) => d.loc)).toEqual([
      ["query", "start_time"],
      ["query", "action"],
    ]);
    const tooWide = await get("/v1/audit-logs/?start_time=2025-01-01T00:00:00Z&end_time=2025-04-01T00:00:01Z");
    expect(tooWide.status).toBe(400);
    expect(((await tooWide.json()) as { detail: string }).detail).toMatch(/90 days/);
    expect((await get("/v1/audit-logs/?start_time=2025-01-01T00:00:00Z&end_time=2025-04-01T00:00:00Z")).status).toBe(
      200,
    );
    expect((await get(`/v1/audit-logs/?start_time=${to}&end_time=${from}`)).status).toBe(400);
  });

  it("filters by action", async () => {
    const rows = await list(`start_time=${from}&end_time=${to}&action=UPDATE`);
    expect(rows).toEqual(sim.groundTruth("logfire").filter((r) => r.action === "UPDATE"));
    expect(rows.length).toBeGreaterThan(0);
  });

  it("serves one record with its diff at /{id}/ (trailing slash required), 404 otherwise", async () => {
    const target = sim.groundTruth("logfire").find((r) => r.action === "UPDATE");
    const detail = await get(`/v1/audit-logs/${target?.id}/`);
    expect(detail.status).toBe(200);
    const body = (await detail.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ...target, downgrade_patches: [{ op: "replace", path: expect.any(String) }] });
    expect(body).toHaveProperty("metadata");
    for (const path of [`/v1/audit-logs/${target?.id}`, "/v1/audit-logs"]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({ detail: "Not Found" });
    }
    const unknown = await get("/v1/audit-logs/00000000-0000-4000-8000-000000000000/");
    expect(unknown.status).toBe(404);
    expect((await get("/v1/audit-logs/not-a-uuid/")).status).toBe(422);
  });

  it("injects each fault kind at rate 1, leaving the data intact", async () => {
    const before = sim.groundTruth("logfire");
    const query = `/v1/audit-logs/?start_time=${from}&end_time=${to}`;
    sim.setFaults({ rate: 1, kinds: ["500"] });
    expect((await get(query)).status).toBe(500);
    sim.setFaults({ rate: 1, kinds: ["429"] });
    const limited = await get(query);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    sim.setFaults({ rate: 1, kinds: ["slow"], maxDelayMs: 20 });
    expect((await get(query)).status).toBe(200);
    expect(sim.requestLog.at(-1)?.fault).toBe("slow");
    sim.setFaults({ rate: 1, kinds: ["malformed"] });
    for (let i = 0; i < 4; i++) {
      expect(
        looksIntact(
          await (await get(query)).text(),
          (b) => b as Record<string, unknown>[],
          logfireProvider.requiredFields,
        ),
      ).toBe(false);
    }
    sim.setFaults(undefined);
    expect(sim.groundTruth("logfire")).toEqual(before);
  });

  it("serves appended records in a window ending now", async () => {
    const added = [
      ...sim.append("logfire", 2),
      ...sim.append("logfire", [{ action: "INSERT", resource_type: "write_tokens", user_name: "mallory" }]),
    ];
    expect(added[2]).toMatchObject({ action: "INSERT", resource_type: "write_tokens", user_name: "mallory" });
    const rows = await list(`start_time=${seconds(span.end.getTime())}`);
    expect(rows).toEqual([...added].reverse());
  });
});

describe("Logfire rate limit", () => {
  it("answers 429 with Retry-After once the budget is spent", async () => {
    const sim = await startProviderSimulator({
      providers: ["logfire"],
      records: { logfire: 5 },
      rateLimit: { logfire: { requests: 2, perMs: 60_000 } },
    });
    try {
      const call = () =>
        fetch(`${sim.baseUrl("logfire")}/v1/audit-logs/?start_time=${seconds(Date.now() - DAY_MS)}`, {
          headers: { Authorization: `Bearer ${sim.credentials("logfire").apiKey}` },
        });
      expect((await call()).status).toBe(200);
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refused.json()).toEqual({ detail: "Too Many Requests" });
    } finally {
      await sim.close();
    }
  });
});
