import { randomUUID } from "node:crypto";
import { createRedis, deleteKeyspace, Keyspace } from "@vigil/core";
import { afterAll, describe, expect, it } from "vitest";
import { AlertHistory, alertStatus, type HistoryEntry } from "./alert-history.js";
import { makeAlert } from "./testing/alert.fixture.js";

const redis = createRedis("redis://127.0.0.1:6379");
const keyspace = new Keyspace(`test-${randomUUID()}`);
afterAll(async () => {
  await deleteKeyspace(redis, keyspace);
  await redis.quit();
});

describe("AlertHistory", () => {
  it("keeps at most maxAlerts (the oldest go first, with their entries) and nothing past retention", async () => {
    const history = new AlertHistory(redis, keyspace, { retention: 3_600_000, maxAlerts: 3 });
    const now = Date.parse("2026-06-01T12:00:00Z");
    const alerts = [90, 50, 40, 30, 20].map((minutesAgo) =>
      makeAlert({ createdAt: new Date(now - minutesAgo * 60_000).toISOString() }),
    );
    for (const alert of alerts) {
      await history.recordAlert(alert, now);
      await history.add([alert.id], "unrouted", { kind: "unrouted", at: alert.createdAt });
    }
    expect((await history.list()).map((record) => record.alert.id)).toEqual(
      alerts
        .slice(2)
        .reverse()
        .map((alert) => alert.id),
    );
    expect(await history.get(alerts[1]!.id)).toBeUndefined();
    expect(await redis.exists(keyspace.key("history", "log", alerts[1]!.id))).toBe(0);
    expect(await history.list({ sinceMs: now - 35 * 60_000 })).toHaveLength(2);
  });

  it("derives the status from the entries: a decision first, else the last outcome per channel", () => {
    const at = "2026-06-01T12:00:00Z";
    const delivery = (channel: string, outcome: "sent" | "retry" | "failed", minute: number): HistoryEntry => ({
      kind: "delivery",
      at: `2026-06-01T12:0${minute}:00Z`,
      channel,
      notificationId: "n",
      outcome,
      attempt: minute,
    });
    expect(alertStatus([{ kind: "silenced", at, silenceId: "s", reason: "r" }])).toBe("silenced");
    expect(alertStatus([{ kind: "routed", at, targets: [] }])).toBe("pending");
    expect(alertStatus([delivery("a", "retry", 1)])).toBe("pending");
    expect(alertStatus([delivery("a", "failed", 1), delivery("a", "sent", 2)])).toBe("notified");
    expect(alertStatus([delivery("a", "sent", 1), delivery("b", "failed", 2)])).toBe("failed");
  });
});
