import { describe, expect, it } from "vitest";
import { makeAlert } from "../testing/alert.fixture.js";
import { alertMessageText, foldedEventIds, humanDuration, renderAlertMessage, utc } from "./alert-message.js";

const ev = (id: string, time: string, action: string, actor?: string) => ({ id, time, action, actor });

describe("renderAlertMessage", () => {
  it("states a threshold's count over its window as a duration, with its first and last events", () => {
    const message = renderAlertMessage(
      makeAlert({
        kind: "threshold",
        count: 20,
        windowStart: "2026-01-31T12:00:00.000Z",
        windowEnd: "2026-01-31T12:02:16.400Z",
        events: [
          ev("z:1", "2026-01-31T12:00:00.000Z", "read", "eve@example.com"),
          ev("z:2", "2026-01-31T12:01:00.000Z", "read", "eve@example.com"),
          ev("z:20", "2026-01-31T12:02:16.400Z", "read", "eve@example.com"),
        ],
      }),
    );
    expect(message.evidence).toEqual({
      heading: "20 events in 2 m 16 s (2026-01-31 12:00:00 UTC to 12:02:16 UTC)",
      lines: [
        "first: 2026-01-31 12:00:00 UTC read by eve@example.com",
        "last:  2026-01-31 12:02:16 UTC read by eve@example.com",
      ],
    });
  });

  it("walks a sequence's chain step by step", () => {
    const message = renderAlertMessage(
      makeAlert({
        kind: "sequence",
        evidence: {
          kind: "sequence",
          chain: [
            { name: "spray", eventIds: ["b:1", "b:2", "b:3"] },
            { name: "saml-change", eventIds: ["b:9"] },
          ],
        },
        events: [
          ev("b:1", "2026-01-31T12:00:00Z", "login.failed"),
          ev("b:9", "2026-01-31T12:09:00Z", "saml.update", "mallory"),
        ],
      }),
    );
    expect(message.evidence.heading).toBe("Sequence of 2 steps in 5 m");
    expect(message.evidence.lines).toEqual([
      "1. spray: 2026-01-31 12:00:00 UTC login.failed (+2 more)",
      "2. saml-change: 2026-01-31 12:09:00 UTC saml.update by mallory",
    ]);
  });

  it("gives a new value and when it was last seen, or that it never was", () => {
    const seen = renderAlertMessage(
      makeAlert({
        kind: "newValue",
        evidence: { kind: "newValue", value: { ip: "198.51.100.7" }, lastSeen: "2025-11-02T08:00:00Z" },
      }),
    );
    expect(seen.evidence.lines.slice(0, 2)).toEqual(["ip = 198.51.100.7", "last seen 2025-11-02 08:00:00 UTC"]);
    const fresh = renderAlertMessage(
      makeAlert({ kind: "newValue", evidence: { kind: "newValue", value: { country: "NZ" } } }),
    );
    expect(fresh.evidence.lines.slice(0, 2)).toEqual(["country = NZ", "never seen before"]);
  });

  it("says what an absence expected and by when", () => {
    const message = renderAlertMessage(
      makeAlert({
        kind: "absence",
        count: 0,
        windowStart: "2026-01-31T12:00:00Z",
        windowEnd: "2026-01-31T13:00:00Z",
        events: [ev("p:1", "2026-01-31T12:00:00Z", "token.created", "ops@example.com")],
      }),
    );
    expect(message.evidence).toEqual({
      heading: "Expected event missing",
      lines: [
        "after: 2026-01-31 12:00:00 UTC token.created by ops@example.com",
        "expected by 2026-01-31 13:00:00 UTC (within 1 h); nothing arrived",
      ],
    });
  });

  it("prints the exact silence and show commands, quoting what the shell would split", () => {
    const message = renderAlertMessage(
      makeAlert({ id: "a1", ruleId: "pylon.brute-force", groupKey: { "actor.email": "eve o'hara@example.com", n: 3 } }),
    );
    expect(message.next.silence).toBe(
      `vigil silence add --match ruleId=pylon.brute-force --match 'actor.email=eve o'\\''hara@example.com' --match n=3 --for 2h --reason "…"`,
    );
    expect(message.next.show).toBe("vigil alerts show a1");
  });

  it("links the runbook and the provider's records, and folds event ids after five", () => {
    const ids = Array.from({ length: 50 }, (_, i) => `z:${i}`);
    const message = renderAlertMessage(
      makeAlert({
        runbook: "https://runbooks.example.com/mass-deletion",
        provider: "pylon",
        count: 120,
        eventIds: ids,
        events: [{ ...ev("z:0", "2026-01-31T12:00:00Z", "user.deleted"), link: "https://app.usepylon.com/audit/0" }],
      }),
    );
    expect(message.links).toEqual([
      { text: "Runbook", url: "https://runbooks.example.com/mass-deletion" },
      { text: "user.deleted in pylon (z:0)", url: "https://app.usepylon.com/audit/0" },
    ]);
    expect(foldedEventIds(message)).toBe("z:0, z:1, z:2, z:3, z:4 and 115 more");
    const text = alertMessageText(message);
    expect(text.indexOf("20")).toBeGreaterThan(-1);
    // Evidence before what to do, what to do before the ids.
    expect(text.indexOf(message.evidence.heading)).toBeLessThan(text.indexOf("What to do next"));
    expect(text.indexOf("Runbook:  https://runbooks.example.com/mass-deletion")).toBeLessThan(
      text.indexOf("Event ids:"),
    );
  });

  it("formats UTC times and durations for people", () => {
    expect(utc("2026-01-31T13:00:00.123+01:00")).toBe("2026-01-31 12:00:00 UTC");
    expect([450, 1_000, 136_400, 3_900_000, 3 * 86_400_000, 90_061_000].map(humanDuration)).toEqual([
      "450 ms",
      "1 s",
      "2 m 16 s",
      "1 h 5 m",
      "3 d",
      "1 d 1 h",
    ]);
  });
});
