import { AuditEventSchema, ConnectorError } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { parseRecords } from "../../kit/provider-http.js";
import {
  BLOODHOUND_ACTION_MEANINGS,
  bloodHoundActionMeaning,
  bloodHoundClientIp,
  bloodHoundOutcome,
  normalizeBloodHoundRecord,
} from "./bloodhound.normalize.js";
import { BloodHoundAuditLogSchema } from "./bloodhound.records.js";

const SOURCE = "bloodhound-prod";
const PAGE = "GET /api/v2/audit after=2024-11-23T00:00:00.000Z before=2024-11-24T00:00:00.000Z offset=0 limit=1000";

/** PROVIDERS.md 5.2's example: an API token created behind a proxy. */
const tokenCreated = {
  id: 2061,
  created_at: "2024-11-23T18:40:16.410477Z",
  actor_id: "3c90c3cc-0d44-4b50-8888-8dd25736052a",
  actor_name: "alice",
  actor_email: "alice@corp.example",
  action: "CreateAuthToken",
  fields: {
    id: "9b1d7c2e-8f0a-4c1b-9d2e-3f4a5b6c7d8e",
    user_id: "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    client_id: null,
    name: "splunk-integration",
    last_access: "0001-01-01T00:00:00Z",
  },
  request_id: "1e0f5c8a-6a2b-4f0d-9a3e-7d2c1b0a9f88",
  source_ip_address: "198.51.100.23,10.0.0.5:51544",
  status: "success",
  commit_id: "5f0e9a7c-2b1d-4c3e-8f6a-0d9b8c7a6e51",
};

/** A failed login for a user name that does not exist: no actor, `fields.error`. */
const failedLogin = {
  id: 2070,
  created_at: "2024-11-23T18:52:03.1Z",
  actor_id: "",
  actor_name: "",
  actor_email: "",
  action: "LoginAttempt",
  fields: { username: "administrator", error: "invalid authentication" },
  request_id: "7d6c5b4a-3928-4f1e-8d7c-6b5a49382716",
  source_ip_address: "203.0.113.66:40112",
  status: "failure",
  commit_id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
};

function normalize(raw: Record<string, unknown>) {
  const [log] = parseRecords(SOURCE, PAGE, BloodHoundAuditLogSchema, [raw], "data.logs");
  const event = normalizeBloodHoundRecord(SOURCE, { raw, log: log! });
  expect(AuditEventSchema.parse(event)).toEqual(event);
  return event;
}

describe("BloodHound normalization", () => {
  it("maps an API token creation", () => {
    expect(normalize(tokenCreated)).toEqual({
      id: "bloodhound-prod:2061",
      source: SOURCE,
      provider: "bloodhound",
      nativeId: "2061",
      time: "2024-11-23T18:40:16.410Z",
      action: "CreateAuthToken",
      category: "create",
      outcome: "success",
      actor: { id: "3c90c3cc-0d44-4b50-8888-8dd25736052a", name: "alice", email: "alice@corp.example", type: "user" },
      target: { id: "9b1d7c2e-8f0a-4c1b-9d2e-3f4a5b6c7d8e", type: "auth_token", name: "splunk-integration" },
      ip: "198.51.100.23",
      attributes: {
        status: "success",
        commit_id: "5f0e9a7c-2b1d-4c3e-8f6a-0d9b8c7a6e51",
        request_id: "1e0f5c8a-6a2b-4f0d-9a3e-7d2c1b0a9f88",
        source_ip_address: "198.51.100.23,10.0.0.5:51544",
        fields: tokenCreated.fields,
      },
      raw: tokenCreated,
    });
  });

  it("maps a failed login of an unknown user: no actor, the tried user name as target", () => {
    expect(normalize(failedLogin)).toMatchObject({
      time: "2024-11-23T18:52:03.100Z",
      category: "authentication",
      outcome: "failure",
      actor: {},
      target: { type: "user", name: "administrator" },
      ip: "203.0.113.66",
      attributes: { status: "failure", fields: { error: "invalid authentication" } },
    });
  });

  it("keeps the intent row of a change, with outcome unknown and the commit id that joins it to its outcome", () => {
    const intent = { ...tokenCreated, id: 2060, created_at: "2024-11-23T18:40:16.405Z", status: "intent" };
    expect(normalize(intent)).toMatchObject({
      outcome: "unknown",
      category: "create",
      attributes: { status: "intent", commit_id: tokenCreated.commit_id },
    });
  });

  it("reads a user change's target from the audited user", () => {
    const roleChange = {
      ...tokenCreated,
      action: "UpdateUser",
      fields: {
        id: "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f",
        principal_name: "bob",
        email_address: "bob@corp.example",
        roles: ["Administrator"],
      },
    };
    expect(normalize(roleChange)).toMatchObject({
      category: "update",
      target: { id: "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f", type: "user", name: "bob" },
    });
  });

  it("names the refused path of an unauthorized access attempt", () => {
    const refused = {
      ...failedLogin,
      action: "UnauthorizedAccessAttempt",
      actor_name: "readonly-analyst",
      fields: { path: "/api/v2/audit" },
    };
    expect(normalize(refused)).toMatchObject({
      category: "permission",
      outcome: "failure",
      target: { type: "endpoint", name: "/api/v2/audit" },
      actor: { name: "readonly-analyst", type: "user" },
    });
  });

  it("reads older rows (address in `source`, null fields and actor)", () => {
    const { source_ip_address: _address, ...older } = tokenCreated;
    const event = normalize({
      ...older,
      source: "192.0.2.9:5001",
      fields: null,
      actor_id: null,
      actor_email: null,
      request_id: null,
    });
    expect(event).toMatchObject({
      ip: "192.0.2.9",
      actor: { name: "alice", type: "user" },
      target: { type: "auth_token" },
      attributes: { fields: {}, source_ip_address: "192.0.2.9:5001" },
    });
    expect(event.attributes).not.toHaveProperty("request_id");
  });

  it.each([
    ["198.51.100.23,10.0.0.5:51544", "198.51.100.23"],
    ["198.51.100.23, 198.51.100.99,10.0.0.5:51544", "198.51.100.23"],
    ["203.0.113.66:40112", "203.0.113.66"],
    ["[2001:db8::7]:40112", "2001:db8::7"],
    ["2001:db8::7,[::1]:40112", "2001:db8::7"],
    ["203.0.113.66", "203.0.113.66"],
    ["", undefined],
    [null, undefined],
  ])("takes the client address from %j", (address, ip) => {
    expect(bloodHoundClientIp(address)).toBe(ip);
  });

  it.each([
    ["success", "success"],
    ["failure", "failure"],
    ["intent", "unknown"],
    ["rolled_back", "unknown"],
  ])("maps status %s to outcome %s", (status, outcome) => {
    expect(bloodHoundOutcome(status)).toBe(outcome);
    expect(normalize({ ...tokenCreated, status }).outcome).toBe(outcome);
  });
});

describe("BloodHound action vocabulary", () => {
  const expected: [string, string, string][] = [
    ["LoginAttempt", "authentication", "user"],
    ["UnauthorizedAccessAttempt", "permission", "endpoint"],
    ["AcceptEULA", "other", "eula"],
    ["AcceptFedEULA", "other", "eula"],
    ["CreateUser", "create", "user"],
    ["UpdateUser", "update", "user"],
    ["DeleteUser", "delete", "user"],
    ["CreateAuthToken", "create", "auth_token"],
    ["UpdateAuthTokenExpiration", "update", "auth_token"],
    ["DeleteAuthToken", "delete", "auth_token"],
    ["DeleteAllAuthTokens", "delete", "auth_token"],
    ["CreateAuthSecret", "create", "auth_secret"],
    ["UpdateAuthSecret", "update", "auth_secret"],
    ["DeleteAuthSecret", "delete", "auth_secret"],
    ["CreateSAMLIdentityProvider", "create", "saml_identity_provider"],
    ["UpdateSAMLIdentityProvider", "update", "saml_identity_provider"],
    ["CreateOIDCIdentityProvider", "create", "oidc_identity_provider"],
    ["UpdateOIDCIdentityProvider", "update", "oidc_identity_provider"],
    ["CreateSSOIdentityProvider", "create", "sso_identity_provider"],
    ["UpdateSSOIdentityProvider", "update", "sso_identity_provider"],
    ["DeleteSSOIdentityProvider", "delete", "sso_identity_provider"],
    ["CreateAssetGroup", "create", "asset_group"],
    ["UpdateAssetGroup", "update", "asset_group"],
    ["DeleteAssetGroup", "delete", "asset_group"],
    ["DeleteAssetGroupSelector", "delete", "asset_group_selector"],
    ["CreateAssetGroupTag", "create", "asset_group_tag"],
    ["UpdateAssetGroupTag", "update", "asset_group_tag"],
    ["DeleteAssetGroupTag", "delete", "asset_group_tag"],
    ["CreateAssetGroupTagSelector", "create", "asset_group_tag_selector"],
    ["UpdateAssetGroupTagSelector", "update", "asset_group_tag_selector"],
    ["DeleteAssetGroupTagSelector", "delete", "asset_group_tag_selector"],
    ["AcceptRisk", "update", "risk"],
    ["UnacceptRisk", "update", "risk"],
    ["ExportRelationshipRisks", "export", "risk"],
    ["ExportListRisks", "export", "risk"],
    ["ExportAllRisks", "export", "risk"],
    ["DeleteBloodhoundData", "delete", "graph_data"],
    ["MutateGraph", "update", "graph"],
    ["UpdateParameter", "update", "parameter"],
    ["CreateCustomNodeKind", "create", "custom_node_kind"],
    ["UpdateCustomNodeKind", "update", "custom_node_kind"],
    ["DeleteCustomNodeKind", "delete", "custom_node_kind"],
    ["ToggleEarlyAccessFeatureFlag", "update", "feature_flag"],
    ["CreateClient", "create", "client"],
    ["ReplaceClientToken", "update", "client"],
    ["ImportSavedQueries", "create", "saved_query"],
    ["ExportSavedQuery", "export", "saved_query"],
    ["ExportSavedQueries", "export", "saved_query"],
    ["UpdateETACList", "permission", "etac_list"],
    ["DeleteETACList", "permission", "etac_list"],
    ["CreateGraphSchemaExtension", "create", "graph_schema_extension"],
    ["DeleteGraphSchemaExtension", "delete", "graph_schema_extension"],
    ["CreateSupportUserSessionAttempt", "authentication", "support_session"],
    ["InvalidateSupportUserSession", "authentication", "support_session"],
    ["InvalidateAllSupportUserSessions", "authentication", "support_session"],
  ];

  it("covers the whole documented vocabulary", () => {
    expect(Object.keys(BLOODHOUND_ACTION_MEANINGS).sort()).toEqual(expected.map(([action]) => action).sort());
  });

  it.each(expected)("maps %s to %s on %s", (action, category, targetType) => {
    expect(bloodHoundActionMeaning(action)).toEqual({ category, targetType });
    expect(normalize({ ...tokenCreated, action })).toMatchObject({ action, category, target: { type: targetType } });
  });

  it.each([
    ["CreateWebhook", "create", "webhook"],
    ["UpdateDataQualityPolicy", "update", "data_quality_policy"],
    ["DeleteSavedQuery", "delete", "saved_query"],
    ["ExportGraph", "export", "graph"],
    ["InvalidateSessions", "authentication", "sessions"],
    ["RecalculateAnalysis", "other", "recalculate_analysis"],
  ])("reads an action it does not know, %s, from its verb and noun", (action, category, targetType) => {
    expect(bloodHoundActionMeaning(action)).toEqual({ category, targetType });
  });

  it("names the target of risks, parameters and bulk token deletions from their own keys", () => {
    expect(
      normalize({
        ...tokenCreated,
        action: "AcceptRisk",
        fields: { finding: "T0MarkSensitive", accepted_until: "0001-01-01T00:00:00Z" },
      }).target,
    ).toEqual({
      id: "T0MarkSensitive",
      type: "risk",
    });
    expect(
      normalize({ ...tokenCreated, action: "UpdateParameter", fields: { key: "auth.password_expiration_window" } })
        .target,
    ).toEqual({
      id: "auth.password_expiration_window",
      type: "parameter",
    });
    expect(
      normalize({
        ...tokenCreated,
        action: "DeleteAllAuthTokens",
        fields: { user_id: "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f" },
      }).target,
    ).toEqual({ type: "auth_token" });
    expect(normalize({ ...tokenCreated, action: "UpdateAuthSecret", fields: { id: 17, user_id: "u" } }).target).toEqual(
      { id: "17", type: "auth_secret" },
    );
  });
});

describe("BloodHound record validation", () => {
  const failure = (records: unknown[]) => {
    try {
      parseRecords(SOURCE, PAGE, BloodHoundAuditLogSchema, records, "data.logs");
    } catch (err) {
      return err as ConnectorError;
    }
    throw new Error("expected the records to be refused");
  };

  it("names the source, the window and offset, the record and the field", () => {
    const { commit_id: _missing, ...withoutCommit } = failedLogin;
    const error = failure([tokenCreated, withoutCommit]);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `source ${SOURCE}: ${PAGE}: malformed response (record id 2070): data.logs.1.commit_id: is required (string)`,
    );
    expect(error.context).toMatchObject({ source: SOURCE, page: PAGE, field: "data.logs.1.commit_id" });
  });

  it.each([
    [{ ...tokenCreated, id: "2061" }, "data.logs.0.id"],
    [{ ...tokenCreated, id: 20.5 }, "data.logs.0.id"],
    [{ ...tokenCreated, created_at: "yesterday" }, "data.logs.0.created_at"],
    [{ ...tokenCreated, created_at: undefined }, "data.logs.0.created_at"],
    [{ ...tokenCreated, action: undefined }, "data.logs.0.action"],
    [{ ...tokenCreated, status: undefined }, "data.logs.0.status"],
    [{ ...tokenCreated, fields: [] }, "data.logs.0.fields"],
    [{ ...tokenCreated, actor_email: 5 }, "data.logs.0.actor_email"],
  ])("refuses a malformed row (%#)", (record, field) => {
    expect(failure([record]).context).toMatchObject({ field });
  });
});
