import { AuditEventSchema, ConnectorError } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { parseRecords } from "../../kit/provider-http.js";
import { logfireCategory, logfireOutcome, normalizeLogfireRecord } from "./logfire.normalize.js";
import { LOGFIRE_ACTIONS, LogfireAuditLogSchema } from "./logfire.records.js";

const SOURCE = "logfire-prod";
const PAGE = "GET /v1/audit-logs/ start_time=2025-09-17T00:00:00Z end_time=2025-09-18T00:00:00Z";

/** The two list items of the documentation's example response. */
const tokenCreated = {
  id: "a85fe9a8-d9c1-4bb0-b68f-f73ce1a202ae",
  created_at: "2025-09-17T15:38:55.901406Z",
  organization_name: "christophergs",
  project_name: "fastapi-example",
  user_name: "ChristopherGS",
  action: "INSERT",
  resource_type: "read_tokens",
  record_id: "835a8e09-417c-4688-9c5a-9f5dc40cf744",
  ip_address: "123.123.123.123",
};
const projectDeleted = {
  id: "5d961928-38f6-41d3-a29e-26ac6f5158e0",
  created_at: "2025-09-17T10:24:39.740984Z",
  organization_name: "christophergs",
  project_name: null,
  user_name: "ChristopherGS",
  action: "DELETE",
  resource_type: "projects",
  record_id: "90873b49-177f-46b1-af9a-137a22db096b",
  ip_address: "123.123.123.123",
};

function normalize(raw: Record<string, unknown>) {
  const [log] = parseRecords(SOURCE, PAGE, LogfireAuditLogSchema, [raw], "");
  const event = normalizeLogfireRecord(SOURCE, { raw, log: log! });
  expect(AuditEventSchema.parse(event)).toEqual(event);
  return event;
}

describe("Logfire normalization", () => {
  it("maps a token creation from the documented example", () => {
    expect(normalize(tokenCreated)).toEqual({
      id: "logfire-prod:a85fe9a8-d9c1-4bb0-b68f-f73ce1a202ae",
      source: SOURCE,
      provider: "logfire",
      nativeId: "a85fe9a8-d9c1-4bb0-b68f-f73ce1a202ae",
      time: "2025-09-17T15:38:55.901Z",
      action: "INSERT",
      category: "create",
      outcome: "success",
      actor: { name: "ChristopherGS", type: "user" },
      target: { id: "835a8e09-417c-4688-9c5a-9f5dc40cf744", type: "read_tokens" },
      ip: "123.123.123.123",
      attributes: { organization_name: "christophergs", project_name: "fastapi-example" },
      raw: tokenCreated,
    });
  });

  it("names the project as the target of a projects row, when the row has its name", () => {
    const renamed = { ...projectDeleted, action: "UPDATE", project_name: "pai-streaming-example-update" };
    expect(normalize(renamed).target).toEqual({
      id: projectDeleted.record_id,
      type: "projects",
      name: "pai-streaming-example-update",
    });
    expect(normalize(projectDeleted)).toMatchObject({
      category: "delete",
      target: { id: projectDeleted.record_id, type: "projects" },
      attributes: { organization_name: "christophergs" },
    });
    expect(normalize(projectDeleted).target).not.toHaveProperty("name");
  });

  it("keeps the detail endpoint's diff and metadata, and drops null scope fields", () => {
    const login = {
      id: "c1cc14dc-a124-405f-aab4-603dbde4b6af",
      created_at: "2025-09-17T16:32:25Z",
      organization_name: "christophergs",
      project_name: null,
      user_name: "ChristopherGS",
      action: "LOGIN",
      resource_type: null,
      record_id: null,
      ip_address: null,
      downgrade_patches: null,
      metadata: { auth_method: "github" },
    };
    const event = normalize(login);
    expect(event).toMatchObject({
      time: "2025-09-17T16:32:25.000Z",
      category: "authentication",
      outcome: "success",
      target: {},
    });
    expect(event).not.toHaveProperty("ip");
    expect(event.attributes).toEqual({ organization_name: "christophergs", metadata: { auth_method: "github" } });

    const patches = [{ op: "replace", path: "/project_name", value: "pai-streaming-example" }];
    expect(normalize({ ...tokenCreated, action: "UPDATE", downgrade_patches: patches }).attributes).toMatchObject({
      downgrade_patches: patches,
    });
  });

  it.each([
    ["LOGIN", null, "authentication", "success"],
    ["LOGOUT", null, "authentication", "success"],
    ["INSERT", "write_tokens", "create", "success"],
    ["UPDATE", "alerts", "update", "success"],
    ["DELETE", "projects", "delete", "success"],
    ["INSERT", "organization_members", "permission", "success"],
    ["UPDATE", "organization_members", "permission", "success"],
    ["DELETE", "project_members", "permission", "success"],
    ["UPDATE", "roles", "permission", "success"],
    ["INSERT", "organization_invitations", "permission", "success"],
    ["EXPORT", "projects", "other", "unknown"],
  ] as const)("maps %s on %s to %s / %s", (action, resourceType, category, outcome) => {
    expect(logfireCategory(action, resourceType)).toBe(category);
    expect(logfireOutcome(action)).toBe(outcome);
    expect(normalize({ ...tokenCreated, action, resource_type: resourceType })).toMatchObject({
      action,
      category,
      outcome,
    });
  });

  it("covers every documented action", () => {
    for (const action of LOGFIRE_ACTIONS) expect(logfireOutcome(action)).toBe("success");
  });

  it("does not take a members-like word inside another name for an access table", () => {
    expect(logfireCategory("INSERT", "remembered_queries")).toBe("create");
  });
});

describe("Logfire record validation", () => {
  const failure = (records: unknown[]) => {
    try {
      parseRecords(SOURCE, PAGE, LogfireAuditLogSchema, records, "");
    } catch (err) {
      return err as ConnectorError;
    }
    throw new Error("expected the records to be refused");
  };

  it("names the source, the window and the field of a record without a timestamp", () => {
    const { created_at: _missing, ...withoutTime } = projectDeleted;
    const error = failure([tokenCreated, withoutTime]);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `source ${SOURCE}: ${PAGE}: malformed response (record id ${projectDeleted.id}): 1.created_at: is required (string)`,
    );
    expect(error.context).toMatchObject({ source: SOURCE, page: PAGE, field: "1.created_at" });
  });

  it.each([
    [{ ...tokenCreated, created_at: "2025-09-17 15:38:55" }, "0.created_at"],
    [{ ...tokenCreated, created_at: "2025-09-17T15:38:55" }, "0.created_at"],
    [{ ...tokenCreated, id: 42 }, "0.id"],
    [{ ...tokenCreated, user_name: undefined }, "0.user_name"],
    [{ ...tokenCreated, action: "" }, "0.action"],
    [{ ...tokenCreated, ip_address: 7 }, "0.ip_address"],
    [{ ...tokenCreated, metadata: "not an object" }, "0.metadata"],
  ])("refuses a malformed record (%#)", (record, field) => {
    expect(failure([record]).context).toMatchObject({ field });
  });

  it("refuses an entry that is not an object", () => {
    expect(failure(["a85fe9a8"]).message).toMatch(/: malformed response: 0: /);
  });
});
