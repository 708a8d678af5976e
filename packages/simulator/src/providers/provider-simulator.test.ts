import { describe, expect, it } from "vitest";
import { startProviderSimulator } from "./provider-simulator.js";
import { PROVIDER_NAMES } from "./provider.types.js";
import { formatInstant, parseRfc3339Us } from "./shared/instant.js";
import { basic, UNREACHABLE_LIMIT } from "./shared/test-support.js";
import { plantBoundaryTies } from "./shared/timeline.js";

const start = new Date("2025-03-01T00:00:00Z");
const end = new Date("2025-03-08T00:00:00Z");
const few = { pylon: 20, zendesk: 20, ashby: 20, logfire: 20, bloodhound: 20 };

describe("startProviderSimulator", () => {
  it("serves the five providers on one port, each under its own prefix, and logs every request", async () => {
    const sim = await startProviderSimulator({ records: few, start, end });
    try {
      expect(sim.providers).toEqual(PROVIDER_NAMES);
      const bases = PROVIDER_NAMES.map((p) => sim.baseUrl(p));
      expect(new Set(bases).size).toBe(5);
      for (const base of bases) expect(base.startsWith(`${sim.origin}/`)).toBe(true);
      expect(sim.baseUrl("logfire")).toBe(`${sim.origin}/logfire/api`);

      const unknown = await fetch(`${sim.origin}/okta/api/v1/logs`);
      expect(unknown.status).toBe(404);
      const wrongMethod = await fetch(`${sim.baseUrl("ashby")}/auditLog.list`, {
        headers: { Authorization: basic(sim.credentials("ashby").apiKey, "") },
      });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get("allow")).toBe("POST");
      const unknownPath = await fetch(`${sim.baseUrl("zendesk")}/api/v2/tickets.json`);
      expect(unknownPath.status).toBe(404);
      expect(sim.requestLog.map(({ provider, method, path, status }) => ({ provider, method, path, status }))).toEqual([
        { provider: "ashby", method: "GET", path: "/auditLog.list", status: 405 },
        { provider: "zendesk", method: "GET", path: "/api/v2/tickets.json", status: 404 },
      ]);
      sim.clearRequestLog();
      expect(sim.requestLog).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  it("generates the same records for the same seed and span, and different ones for another seed", async () => {
    const [a, b, c] = await Promise.all([
      startProviderSimulator({ records: few, start, end, seed: 42 }),
      startProviderSimulator({ records: few, start, end, seed: 42 }),
      startProviderSimulator({ records: few, start, end, seed: 43 }),
    ]);
    try {
      // Zendesk records carry their own URL, which names the server's port.
      const portless = (records: unknown[], base: string) =>
        JSON.parse(JSON.stringify(records).replaceAll(base, "BASE")) as unknown[];
      for (const provider of PROVIDER_NAMES) {
        const truthA = portless(a.groundTruth(provider), a.baseUrl(provider));
        expect(truthA).toHaveLength(20);
        expect(truthA).toEqual(portless(b.groundTruth(provider), b.baseUrl(provider)));
        expect(truthA).not.toEqual(portless(c.groundTruth(provider), c.baseUrl(provider)));
      }
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it("plants story records after the generated data, filling in what they leave out", async () => {
    const sim = await startProviderSimulator({
      providers: ["bloodhound", "ashby"],
      records: { bloodhound: 10, ashby: 10 },
      start,
      end,
      storyRecords: {
        bloodhound: Array.from({ length: 3 }, () => ({
          action: "LoginAttempt",
          status: "failure" as const,
          fields: { username: "admin" },
        })),
        ashby: [{ category: "ApiKeyCreated", actor: { type: "Support" } }],
      },
    });
    try {
      const logins = sim.groundTruth("bloodhound").filter((r) => r.fields.username === "admin");
      expect(logins.map((r) => r.status).sort()).toEqual([
        "failure",
        "failure",
        "failure",
        "intent",
        "intent",
        "intent",
      ]);
      const newestGenerated = Math.max(
        ...sim
          .groundTruth("bloodhound")
          .filter((r) => r.fields.username !== "admin")
          .map((r) => parseRfc3339Us(r.created_at) ?? 0),
      );
      for (const row of logins) expect(parseRfc3339Us(row.created_at)).toBeGreaterThan(newestGenerated);
      expect(sim.groundTruth("ashby")[0]).toMatchObject({
        category: "ApiKeyCreated",
        actor: { type: "Support" },
        target: { type: "api_key" },
      });
    } finally {
      await sim.close();
    }
  });

  it("refuses a draft that does not make a valid record, adding nothing", async () => {
    const sim = await startProviderSimulator({ providers: ["zendesk"], records: { zendesk: 5 }, start, end });
    try {
      expect(() => sim.append("zendesk", [{ actor_id: "root" as unknown as number }])).toThrow(
        /zendesk: appended record 0 is not a valid record/,
      );
      expect(() => sim.append("zendesk", [{ created_at: "yesterday" }])).toThrow(/RFC 3339/);
      expect(sim.groundTruth("zendesk")).toHaveLength(5);
      expect(() => sim.baseUrl("pylon")).toThrow(/not simulated here/);
    } finally {
      await sim.close();
    }
  });

  it("refuses invalid options", async () => {
    await expect(startProviderSimulator({ records: { pylon: -1 } })).rejects.toThrow();
    await expect(startProviderSimulator({ start: end, end: start })).rejects.toThrow(/start must be before end/);
    await expect(startProviderSimulator({ faults: { rate: 2 } })).rejects.toThrow();
  });

  it("draws the same faults for the same seed", async () => {
    const sim = await startProviderSimulator({
      providers: ["pylon"],
      records: { pylon: 5 },
      start,
      end,
      rateLimit: { pylon: UNREACHABLE_LIMIT },
    });
    try {
      const headers = { Authorization: `Bearer ${sim.credentials("pylon").token}` };
      const run = async () => {
        sim.clearRequestLog();
        sim.setFaults({ rate: 0.5, seed: 1234, kinds: ["500", "429", "malformed"] });
        for (let i = 0; i < 30; i++) await fetch(`${sim.baseUrl("pylon")}/audit-logs`, { headers });
        return sim.requestLog.map((entry) => entry.fault ?? "none");
      };
      const first = await run();
      expect(new Set(first)).toEqual(new Set(["none", "500", "429", "malformed"]));
      expect(await run()).toEqual(first);
    } finally {
      await sim.close();
    }
  });

  it("serves Pylon newest first when asked to", async () => {
    const sim = await startProviderSimulator({
      providers: ["pylon"],
      records: { pylon: 30 },
      start,
      end,
      pylon: { order: "newest-first" },
    });
    try {
      const truth = sim.groundTruth("pylon");
      const times = truth.map((r) => r.created_at);
      expect(times).toEqual([...times].sort().reverse());
      const response = await fetch(`${sim.baseUrl("pylon")}/audit-logs?limit=999`, {
        headers: { Authorization: `Bearer ${sim.credentials("pylon").token}` },
      });
      expect(((await response.json()) as { data: unknown[] }).data).toEqual(truth);
    } finally {
      await sim.close();
    }
  });
});

describe("plantBoundaryTies", () => {
  it("gives the records around every 50th position, from either end, one shared time", () => {
    const times = Array.from({ length: 230 }, (_, i) => i * 1_000_000);
    const tied = plantBoundaryTies(
      times,
      (t) => t,
      (_t, us) => us,
    );
    expect(tied).toEqual([...tied].sort((a, b) => a - b));
    for (const boundary of [50, 100, 150, 200]) {
      expect(tied[boundary - 1], `oldest-first page end ${boundary}`).toBe(tied[boundary]);
      expect(tied[230 - boundary - 1], `newest-first page end ${boundary}`).toBe(tied[230 - boundary]);
    }
  });

  it("keeps the formats each provider writes", () => {
    const us = Date.UTC(2025, 0, 2, 3, 4, 5) * 1000 + 120_300;
    expect(formatInstant(us, "s")).toBe("2025-01-02T03:04:05Z");
    expect(formatInstant(us, "ms")).toBe("2025-01-02T03:04:05.120Z");
    expect(formatInstant(us, "us-python")).toBe("2025-01-02T03:04:05.120300Z");
    expect(formatInstant(us, "us-go")).toBe("2025-01-02T03:04:05.1203Z");
    expect(parseRfc3339Us("2025-01-02T05:04:05.1203+02:00")).toBe(us);
  });
});
