import { AuditEventSchema, ConnectorError } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { parseRecords } from "../../kit/provider-http.js";
import { normalizeZendeskRecord, zendeskCategory, zendeskOutcome } from "./zendesk.normalize.js";
import { ZendeskAuditLogSchema } from "./zendesk.records.js";

const SOURCE = "zendesk-prod";
const PAGE = "GET /api/v2/audit_logs created_at=[2012-03-05T00:00:00Z, 2012-03-06T00:00:00Z] page[after]=aGk+";

function normalize(raw: Record<string, unknown>) {
  const [log] = parseRecords(SOURCE, PAGE, ZendeskAuditLogSchema, [raw], "audit_logs");
  return normalizeZendeskRecord(SOURCE, { raw, log: log! });
}

/** The reference docs' example (PROVIDERS.md 2.2). */
const roleChange = {
  id: 498483,
  url: "https://company.zendesk.com/api/v2/audit_logs/498483.json",
  action: "update",
  action_label: "Updated",
  actor_id: 1234,
  actor_name: "Sameer Patel",
  source_id: 3456,
  source_type: "user",
  source_label: "John Doe",
  change_description: "Role changed from Administrator to End User",
  ip_address: "209.119.38.228",
  created_at: "2012-03-05T11:32:44Z",
};

describe("Zendesk normalization", () => {
  it("maps a role change to a permission event with actor, target and IP", () => {
    const event = normalize(roleChange);
    expect(event).toEqual({
      id: "zendesk-prod:498483",
      source: SOURCE,
      provider: "zendesk",
      nativeId: "498483",
      time: "2012-03-05T11:32:44.000Z",
      action: "update",
      category: "permission",
      outcome: "success",
      actor: { id: "1234", name: "Sameer Patel", type: "user" },
      target: { id: "3456", type: "user", name: "John Doe" },
      ip: "209.119.38.228",
      attributes: { action_label: "Updated", change_description: "Role changed from Administrator to End User" },
      raw: roleChange,
    });
    expect(AuditEventSchema.parse(event)).toEqual(event);
  });

  it("maps a change Zendesk made itself: the system actor, no IP", () => {
    const event = normalize({
      ...roleChange,
      id: 498490,
      actor_id: -1,
      actor_name: "Zendesk",
      ip_address: null,
      source_type: "rule",
      source_label: "Automation: Close ticket 4 days after status is set to solved",
      change_description: "Active: changed from true to false",
    });
    expect(event).toMatchObject({
      category: "update",
      actor: { id: "-1", name: "Zendesk", type: "system" },
      target: { type: "rule" },
    });
    expect(event.ip).toBeUndefined();
  });

  it("maps every documented action, and the source types that make it a permission change", () => {
    const cases: [{ action: string; source_type: string; change_description: string }, string, string][] = [
      [
        { action: "login", source_type: "user", change_description: "Successful sign-in using Zendesk password" },
        "authentication",
        "success",
      ],
      [
        { action: "login", source_type: "user", change_description: "Failed sign-in attempt using Zendesk password" },
        "authentication",
        "failure",
      ],
      [{ action: "exported", source_type: "account", change_description: "Export requested" }, "export", "success"],
      [{ action: "create", source_type: "rule", change_description: "Created" }, "create", "success"],
      [{ action: "update", source_type: "rule", change_description: "Conditions: changed" }, "update", "success"],
      [{ action: "destroy", source_type: "ticket", change_description: "Deleted" }, "delete", "success"],
      [{ action: "destroy", source_type: "user", change_description: "Deleted" }, "delete", "success"],
      [
        { action: "update", source_type: "user", change_description: "Role changed from Agent to Administrator" },
        "permission",
        "success",
      ],
      [{ action: "update", source_type: "user", change_description: "Name changed" }, "update", "success"],
      [{ action: "create", source_type: "apitoken", change_description: "Created" }, "permission", "success"],
      [{ action: "destroy", source_type: "apitoken", change_description: "Deleted" }, "permission", "success"],
      [{ action: "create", source_type: "api_token", change_description: "Created" }, "permission", "success"],
      [{ action: "update", source_type: "account_setting", change_description: "Disabled" }, "update", "success"],
      [{ action: "update", source_type: "user_setting", change_description: "User suspended" }, "update", "success"],
      [
        { action: "create", source_type: "zendesk/app_market/app", change_description: "Installed" },
        "create",
        "success",
      ],
      [{ action: "impersonate", source_type: "user", change_description: "" }, "other", "unknown"],
    ];
    for (const [fields, category, outcome] of cases) {
      expect({ ...fields, category: zendeskCategory(fields), outcome: zendeskOutcome(fields) }).toEqual({
        ...fields,
        category,
        outcome,
      });
    }
  });

  it("refuses a malformed record, naming the source, the page, the field and the record", () => {
    const { actor_id: _dropped, ...withoutActor } = roleChange;
    const attempt = () => parseRecords(SOURCE, PAGE, ZendeskAuditLogSchema, [withoutActor], "audit_logs");
    expect(attempt).toThrow(ConnectorError);
    expect(attempt).toThrow(
      `source ${SOURCE}: ${PAGE}: malformed response (record id 498483): audit_logs.0.actor_id: is required`,
    );
    expect(() =>
      parseRecords(SOURCE, PAGE, ZendeskAuditLogSchema, [{ ...roleChange, id: "498483" }], "audit_logs"),
    ).toThrow("audit_logs.0.id");
  });
});
