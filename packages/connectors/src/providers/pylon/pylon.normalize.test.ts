import { AuditEventSchema, ConnectorError } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { parseRecords } from "../../kit/provider-http.js";
import { PYLON_ACTION_MEANINGS, normalizePylonRecord, pylonActionMeaning } from "./pylon.normalize.js";
import { PylonAuditLogSchema } from "./pylon.records.js";

const SOURCE = "pylon-prod";
const PAGE = "GET /audit-logs cursor=abc";

function normalize(raw: Record<string, unknown>) {
  const [log] = parseRecords(SOURCE, PAGE, PylonAuditLogSchema, [raw], "data");
  return normalizePylonRecord(SOURCE, { raw, log: log! });
}

/** PROVIDERS.md 1.2's example. */
const tokenCreated = {
  id: "7c0a3f9e-2f7b-4d0e-9a51-0a4d7b1d2c11",
  action: "APITokenCreated",
  action_happened_at: "2025-03-04T17:22:09Z",
  created_at: "2025-03-04T17:22:10Z",
  actor_user_id: "usr_01HQ8K3N6X",
  object_type: "api_token",
  object_id: "tok_01HQ8K4A1B",
  source: "app",
  link: "https://app.usepylon.com/settings/api-tokens",
  attributes: { token_name: "siem-export" },
  metadata: { ip_address: "203.0.113.7" },
};

describe("Pylon normalization", () => {
  it("maps an API token creation, with the action time rather than the insert time", () => {
    const event = normalize(tokenCreated);
    expect(event).toEqual({
      id: "pylon-prod:7c0a3f9e-2f7b-4d0e-9a51-0a4d7b1d2c11",
      source: SOURCE,
      provider: "pylon",
      nativeId: "7c0a3f9e-2f7b-4d0e-9a51-0a4d7b1d2c11",
      time: "2025-03-04T17:22:09.000Z",
      action: "APITokenCreated",
      category: "permission",
      outcome: "success",
      actor: { id: "usr_01HQ8K3N6X", type: "user" },
      target: { id: "tok_01HQ8K4A1B", type: "api_token" },
      ip: "203.0.113.7",
      attributes: {
        created_at: "2025-03-04T17:22:10Z",
        source: "app",
        link: "https://app.usepylon.com/settings/api-tokens",
        attributes: { token_name: "siem-export" },
        metadata: { ip_address: "203.0.113.7" },
      },
      raw: tokenCreated,
    });
    expect(AuditEventSchema.parse(event)).toEqual(event);
  });

  it("maps a failed login: no actor, a failure, the client's IP", () => {
    const raw = {
      id: "0f7d2c1a-8b7e-4c55-9d0e-3f4a5b6c7d8e",
      action: "LoginFailed",
      action_happened_at: "2025-03-04T08:00:01+01:00",
      created_at: "2025-03-04T07:00:02Z",
      object_type: "user",
      object_id: "usr_01HQ8K3N6X",
      source: "app",
      attributes: { user_email: "ada@acme-support.example", reason: "invalid_password" },
      metadata: { ip_address: "198.51.100.23", user_agent: "Mozilla/5.0" },
    };
    expect(normalize(raw)).toMatchObject({
      time: "2025-03-04T07:00:01.000Z",
      category: "authentication",
      outcome: "failure",
      actor: {},
      target: { id: "usr_01HQ8K3N6X", type: "user" },
      ip: "198.51.100.23",
      attributes: { attributes: { user_email: "ada@acme-support.example", reason: "invalid_password" } },
    });
  });

  it("takes a contact as the actor of an issue they opened, and Pylon itself for system entries", () => {
    const opened = normalize({
      id: "a1",
      action: "IssueOpened",
      action_happened_at: "2025-03-04T09:00:00Z",
      created_at: "2025-03-04T09:00:00Z",
      actor_contact_id: "con_42",
      object_type: "issue",
      object_id: "iss_9",
      source: "email",
      attributes: { issue_number: "1041" },
      metadata: {},
    });
    expect(opened).toMatchObject({ category: "create", outcome: "success", actor: { id: "con_42", type: "contact" } });
    expect(opened.ip).toBeUndefined();
    const breached = normalize({
      id: "a2",
      action: "IssueResolutionSLABreached",
      action_happened_at: "2025-03-04T09:00:00Z",
      created_at: "2025-03-04T09:00:00Z",
      object_type: "issue",
      object_id: "iss_9",
      source: "system",
      attributes: {},
      metadata: {},
    });
    expect(breached).toMatchObject({ category: "other", outcome: "unknown", actor: { type: "system" } });
  });

  it("maps every documented action", () => {
    const expected: Record<string, [string, string]> = {
      LoginSucceeded: ["authentication", "success"],
      LoginFailed: ["authentication", "failure"],
      UserCreated: ["create", "success"],
      UserDeleted: ["delete", "success"],
      UserInvited: ["create", "success"],
      UserRoleChanged: ["permission", "success"],
      APITokenCreated: ["permission", "success"],
      APITokenRevoked: ["permission", "success"],
      IssueOpened: ["create", "success"],
      IssueClosed: ["update", "success"],
      IssueAssigned: ["update", "success"],
      IssuePriorityChanged: ["update", "success"],
      OrganizationAccessSettingsUpdated: ["permission", "success"],
      OrganizationEmailSettingsUpdated: ["update", "success"],
      IssueFirstResponseSLABreached: ["other", "unknown"],
      IssueResolutionSLABreached: ["other", "unknown"],
      AccountCreated: ["create", "success"],
      AccountDeleted: ["delete", "success"],
      TeamCreated: ["create", "success"],
      TeamMemberAdded: ["update", "success"],
      TeamMemberRemoved: ["update", "success"],
    };
    expect(Object.keys(PYLON_ACTION_MEANINGS).sort()).toEqual(Object.keys(expected).sort());
    for (const [action, [category, outcome]] of Object.entries(expected)) {
      expect({ action, ...pylonActionMeaning(action) }).toEqual({ action, category, outcome });
    }
  });

  it("reads undocumented actions by their name", () => {
    expect(pylonActionMeaning("KnowledgeBaseArticleDeleted")).toEqual({ category: "delete", outcome: "success" });
    expect(pylonActionMeaning("ContactUpdated")).toEqual({ category: "update", outcome: "success" });
    expect(pylonActionMeaning("IssuesExported")).toEqual({ category: "export", outcome: "success" });
    expect(pylonActionMeaning("SamlLoginFailed")).toEqual({ category: "authentication", outcome: "failure" });
    expect(pylonActionMeaning("SomethingHappened")).toEqual({ category: "other", outcome: "success" });
  });

  it("refuses a malformed record, naming the source, the page, the field and the record", () => {
    const { action_happened_at: _dropped, ...withoutTime } = tokenCreated;
    const attempt = () => parseRecords(SOURCE, PAGE, PylonAuditLogSchema, [tokenCreated, withoutTime], "data");
    expect(attempt).toThrow(ConnectorError);
    expect(attempt).toThrow(
      `source ${SOURCE}: ${PAGE}: malformed response (record id ${tokenCreated.id}): data.1.action_happened_at: is required`,
    );
    try {
      attempt();
    } catch (err) {
      expect((err as ConnectorError).context).toMatchObject({ page: PAGE, field: "data.1.action_happened_at" });
      expect((err as ConnectorError).retryable).toBe(false);
    }
    expect(() =>
      parseRecords(SOURCE, PAGE, PylonAuditLogSchema, [{ ...tokenCreated, action_happened_at: "yesterday" }], "data"),
    ).toThrow("data.0.action_happened_at");
  });
});
