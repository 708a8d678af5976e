import { randomUUID } from "node:crypto";
import { AlertSchema, type Alert } from "@vigil/core";

/** A realistic, valid alert for tests; every field can be overridden. */
export function makeAlert(overrides: Partial<Alert> = {}): Alert {
  return AlertSchema.parse({
    id: `alert-${randomUUID()}`,
    ruleId: "zendesk.mass-user-deletion",
    ruleName: "Mass user deletion",
    kind: "threshold",
    provider: "zendesk",
    severity: "high",
    title: "agent@example.com deleted 10 users",
    description: "An agent deleted many users in a short time.",
    groupKey: { "actor.id": "u-42" },
    count: 10,
    windowStart: "2026-01-31T12:00:00.000Z",
    windowEnd: "2026-01-31T12:05:00.000Z",
    eventIds: ["zendesk-prod:1001", "zendesk-prod:1002"],
    events: [
      {
        id: "zendesk-prod:1001",
        time: "2026-01-31T12:00:10.000Z",
        action: "destroy",
        actor: "agent@example.com",
        target: "user 7",
        ip: "203.0.113.9",
      },
      {
        id: "zendesk-prod:1002",
        time: "2026-01-31T12:00:20.000Z",
        action: "destroy",
        actor: "agent@example.com",
        target: "user 8",
      },
    ],
    tags: ["attack.impact", "T1531"],
    createdAt: "2026-01-31T12:05:01.000Z",
    ...overrides,
  });
}
