import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startProviderSimulator, type ProviderSimulator } from "../provider-simulator.js";
import { assertUniqueIds, basic, looksIntact, recentSpan, UNREACHABLE_LIMIT } from "../shared/test-support.js";
import { zendeskProvider } from "./zendesk.provider.js";
import type { ZendeskAuditLog } from "./zendesk.records.js";

interface CursorPage {
  audit_logs: ZendeskAuditLog[];
  meta: { has_more: boolean; after_cursor: string | null; before_cursor: string | null };
  links: { next: string | null; prev: string | null };
}
interface OffsetPage {
  audit_logs: ZendeskAuditLog[];
  next_page: string | null;
  previous_page: string | null;
  count: number;
}

describe("Zendesk audit-log simulator", () => {
  let sim: ProviderSimulator;
  let auth: string;

  const list = (query: string, authorization = auth) =>
    fetch(`${sim.baseUrl("zendesk")}/api/v2/audit_logs.json${query ? `?${query}` : ""}`, {
      headers: { Authorization: authorization },
    });
  const follow = (url: string) => fetch(url, { headers: { Authorization: auth } });

  async function walk(firstQuery: string): Promise<{ records: ZendeskAuditLog[]; pages: CursorPage[] }> {
    const pages: CursorPage[] = [];
    let response = await list(firstQuery);
    for (;;) {
      expect(response.status).toBe(200);
      const page = (await response.json()) as CursorPage;
      pages.push(page);
      if (!page.meta.has_more || !page.links.next) return { records: pages.flatMap((p) => p.audit_logs), pages };
      response = await follow(page.links.next);
    }
  }

  beforeAll(async () => {
    sim = await startProviderSimulator({
      providers: ["zendesk"],
      records: { zendesk: 230 },
      seed: 11,
      ...recentSpan(),
      rateLimit: { zendesk: UNREACHABLE_LIMIT },
    });
    const { email, apiToken } = sim.credentials("zendesk");
    auth = basic(`${email}/token`, apiToken);
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => sim.setFaults(undefined));

  it("takes an API token as {email}/token:{token} or an OAuth bearer, and refuses others with Zendesk's bodies", async () => {
    const { email, apiToken, oauthToken, forbiddenOAuthToken } = sim.credentials("zendesk");
    const missing = await fetch(`${sim.baseUrl("zendesk")}/api/v2/audit_logs.json`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "Couldn't authenticate you" });
    for (const wrong of [basic(`${email}/token`, "wrong"), basic(email, apiToken), "Bearer nope"]) {
      expect((await list("", wrong)).status).toBe(401);
    }
    const forbidden = await list("", `Bearer ${forbiddenOAuthToken}`);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({
      error: "Forbidden",
      description: expect.stringMatching(/do not have access/),
    });
    expect((await list("", `Bearer ${oauthToken}`)).status).toBe(200);
    expect((await list("")).status).toBe(200);
  });

  it("pages newest first with page[size] through exactly the ground truth, following links.next", async () => {
    const { records, pages } = await walk("page[size]=100");
    expect(records).toEqual(sim.groundTruth("zendesk"));
    assertUniqueIds(records.map((r) => r.id));
    expect(pages.map((p) => p.audit_logs.length)).toEqual([100, 100, 30]);
    expect(records[99]?.created_at).toBe(records[100]?.created_at);
  });

  it("pages oldest first with sort=created_at, and page[before] returns the previous page", async () => {
    const { records, pages } = await walk("page[size]=50&sort=created_at");
    expect(records).toEqual([...sim.groundTruth("zendesk")].reverse());
    const second = pages[1];
    expect(second?.links.prev).toBeTruthy();
    const previous = (await (await follow(second?.links.prev ?? "")).json()) as CursorPage;
    expect(previous.audit_logs).toEqual(pages[0]?.audit_logs);
    expect(previous.meta.has_more).toBe(false);
  });

  it("falls back to offset pagination without page[size], capped at 10,000 records deep", async () => {
    const first = (await (await list("per_page=500")).json()) as OffsetPage;
    expect(first.count).toBe(230);
    expect(first.audit_logs).toHaveLength(100);
    expect(first.previous_page).toBeNull();
    const records = [...first.audit_logs];
    let next = first.next_page;
    while (next) {
      const page = (await (await follow(next)).json()) as OffsetPage;
      records.push(...page.audit_logs);
      next = page.next_page;
    }
    expect(records).toEqual(sim.groundTruth("zendesk"));
    const deep = await list("page=101&per_page=100");
    expect(deep.status).toBe(400);
    expect(await deep.json()).toMatchObject({ errors: [{ code: "InvalidPaginationDepth" }] });
  });

  it("refuses page[size] outside 1..100", async () => {
    for (const size of ["101", "0", "x"]) {
      const response = await list(`page[size]=${size}`);
      expect(response.status, `page[size]=${size}`).toBe(400);
      expect(await response.json()).toMatchObject({ error: { title: "Invalid attribute" } });
    }
    expect((await list("page[size]=100")).status).toBe(200);
  });

  it("needs filter[created_at][] exactly twice, and includes both bounds", async () => {
    const truth = sim.groundTruth("zendesk");
    const [newer, older] = [truth[20]?.created_at ?? "", truth[60]?.created_at ?? ""];
    for (const query of [
      `filter[created_at][]=${older}`,
      `filter[created_at]=${older}&filter[created_at]=${newer}`,
      `filter[created_at][]=${older}&filter[created_at][]=nonsense`,
    ]) {
      const response = await list(query);
      expect(response.status, query).toBe(400);
      expect(await response.json()).toMatchObject({
        error: "InvalidValue",
        description: expect.stringMatching(/filter\[created_at\]/),
      });
    }
    const { records } = await walk(`page[size]=100&filter[created_at][]=${older}&filter[created_at][]=${newer}`);
    expect(records).toEqual(truth.filter((r) => r.created_at >= older && r.created_at <= newer));
    expect(records.map((r) => r.id)).toEqual(expect.arrayContaining([truth[20]?.id, truth[60]?.id]));
  });

  it("refuses a cursor sent without URL-encoding its '+'", async () => {
    const page = (await (await list("page[size]=10")).json()) as CursorPage;
    const cursor = page.meta.after_cursor ?? "";
    expect(cursor).toContain("+");
    const raw = await list(`page[size]=10&page[after]=${cursor}`);
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ error: "InvalidPaginationParameter" });
    expect((await list(`page[size]=10&page[after]=${encodeURIComponent(cursor)}`)).status).toBe(200);
  });

  it("shows one audit log by id and answers 404 for an unknown one", async () => {
    const [first] = sim.groundTruth("zendesk");
    const shown = await follow(`${sim.baseUrl("zendesk")}/api/v2/audit_logs/${first?.id}.json`);
    expect(await shown.json()).toEqual({ audit_log: first });
    const missing = await follow(`${sim.baseUrl("zendesk")}/api/v2/audit_logs/1.json`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "RecordNotFound", description: "Not found" });
  });

  it("injects each fault kind at rate 1, leaving the data intact", async () => {
    const before = sim.groundTruth("zendesk");
    sim.setFaults({ rate: 1, kinds: ["500"] });
    expect((await list("page[size]=5")).status).toBe(500);
    sim.setFaults({ rate: 1, kinds: ["429"] });
    const limited = await list("page[size]=5");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited.headers.get("content-type")).toMatch(/^text\/plain/);
    sim.setFaults({ rate: 1, kinds: ["slow"], maxDelayMs: 20 });
    expect((await list("page[size]=5")).status).toBe(200);
    expect(sim.requestLog.at(-1)?.fault).toBe("slow");
    sim.setFaults({ rate: 1, kinds: ["malformed"] });
    for (let i = 0; i < 4; i++) {
      const response = await list("page[size]=5");
      expect(
        looksIntact(await response.text(), (b) => (b as CursorPage).audit_logs, zendeskProvider.requiredFields),
      ).toBe(false);
    }
    sim.setFaults(undefined);
    expect(sim.groundTruth("zendesk")).toEqual(before);
  });

  it("serves appended records after the last cursor of an oldest-first walk", async () => {
    const { pages } = await walk("page[size]=100&sort=created_at");
    const lastCursor = pages.at(-1)?.meta.after_cursor ?? "";
    const added = [
      ...sim.append("zendesk", 2),
      ...sim.append("zendesk", [{ action: "destroy", source_type: "user", actor_name: "Mallory" }]),
    ];
    expect(added[2]).toMatchObject({
      action: "destroy",
      action_label: "Deleted",
      source_type: "user",
      actor_name: "Mallory",
    });
    const after = (await (
      await list(`page[size]=100&sort=created_at&page[after]=${encodeURIComponent(lastCursor)}`)
    ).json()) as CursorPage;
    expect(after.audit_logs).toEqual(added);
    expect(after.meta.has_more).toBe(false);
  });
});

describe("Zendesk rate limit", () => {
  it("answers 429 with Retry-After and a plain-text body once the account's budget is spent", async () => {
    const sim = await startProviderSimulator({
      providers: ["zendesk"],
      records: { zendesk: 5 },
      rateLimit: { zendesk: { requests: 2, perMs: 60_000 } },
    });
    try {
      const { oauthToken } = sim.credentials("zendesk");
      const call = () =>
        fetch(`${sim.baseUrl("zendesk")}/api/v2/audit_logs.json?page[size]=5`, {
          headers: { Authorization: `Bearer ${oauthToken}` },
        });
      const ok = await call();
      expect(ok.status).toBe(200);
      expect(ok.headers.get("x-rate-limit")).toBe("2");
      expect(ok.headers.get("x-rate-limit-remaining")).toBe("1");
      expect(ok.headers.get("ratelimit-limit")).toBe("2");
      expect((await call()).status).toBe(200);
      const refused = await call();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await refused.text()).toMatch(/requests per minute exceeded/);
    } finally {
      await sim.close();
    }
  });
});
