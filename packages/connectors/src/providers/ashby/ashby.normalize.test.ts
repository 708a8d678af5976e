import { AuditEventSchema, ConnectorError } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { parseRecords } from "../../kit/provider-http.js";
import { ashbyCategory, normalizeAshbyRecord } from "./ashby.normalize.js";
import { AshbyAuditLogEntrySchema } from "./ashby.records.js";

const SOURCE = "ashby-prod";
const PAGE = "POST /auditLog.list window=[2025-06-01T00:00:00.000Z, 2025-06-02T00:00:00.000Z) cursor=qA";

function normalize(raw: Record<string, unknown>) {
  const [entry] = parseRecords(SOURCE, PAGE, AshbyAuditLogEntrySchema, [raw], "results");
  return normalizeAshbyRecord(SOURCE, { raw, entry: entry! });
}

/** PROVIDERS.md 3.2's composed example. */
const statusChange = {
  id: "1f0c7d3e-8e7a-4c1b-9d77-3b2a8d1e5f60",
  createdAt: "2025-06-01T14:03:22.512Z",
  category: "JobStatusChanged",
  actor: { type: "User", id: "3ae2b801-19f6-41ef-ad28-214bd731948f", name: "Ada Recruiter" },
  target: { type: "job", id: "b4c1f8a2-5d0e-4a57-8b3f-2c6d9e0a7f11", name: "Senior Backend Engineer" },
};

describe("Ashby normalization", () => {
  it("maps a job status change", () => {
    const event = normalize(statusChange);
    expect(event).toEqual({
      id: "ashby-prod:1f0c7d3e-8e7a-4c1b-9d77-3b2a8d1e5f60",
      source: SOURCE,
      provider: "ashby",
      nativeId: "1f0c7d3e-8e7a-4c1b-9d77-3b2a8d1e5f60",
      time: "2025-06-01T14:03:22.512Z",
      action: "JobStatusChanged",
      category: "update",
      outcome: "success",
      actor: { id: "3ae2b801-19f6-41ef-ad28-214bd731948f", name: "Ada Recruiter", type: "User" },
      target: { id: "b4c1f8a2-5d0e-4a57-8b3f-2c6d9e0a7f11", type: "job", name: "Senior Backend Engineer" },
      attributes: {},
      raw: statusChange,
    });
    expect(AuditEventSchema.parse(event)).toEqual(event);
  });

  it("keeps actors without id or name (automations, candidates, the system) and fields Ashby adds", () => {
    const event = normalize({
      id: "e2",
      createdAt: "2025-06-01T14:03:22Z",
      category: "ApplicationArchived",
      actor: { type: "System", id: null, name: null },
      target: { type: "application", id: "app-1", name: null },
      details: { reason: "Auto-archive after 30 days" },
    });
    expect(event).toMatchObject({
      time: "2025-06-01T14:03:22.000Z",
      category: "update",
      actor: { type: "System" },
      target: { id: "app-1", type: "application" },
      attributes: { details: { reason: "Auto-archive after 30 days" } },
    });
    expect(event.actor).toEqual({ type: "System" });
    expect(event.ip).toBeUndefined();
  });

  it("maps every category of the vocabulary", () => {
    const expected: Record<string, string> = {
      JobCreated: "create",
      JobUpdated: "update",
      JobStatusChanged: "update",
      JobPostingPublished: "update",
      JobPostingUnpublished: "update",
      ApplicationCreated: "create",
      ApplicationStageChanged: "update",
      ApplicationArchived: "update",
      CandidateCreated: "create",
      CandidateUpdated: "update",
      CandidateMerged: "update",
      CandidateDeleted: "delete",
      OfferCreated: "create",
      OfferApproved: "update",
      AppUserInvited: "create",
      AppUserDeactivated: "update",
      AppUserReactivated: "update",
      AppUserPermissionsChanged: "permission",
      AppUserSignedIn: "authentication",
      ApiKeyCreated: "permission",
      ApiKeyRevoked: "permission",
      ReportExported: "export",
      InterviewFeedbackViewed: "read",
      SomethingNew: "other",
    };
    for (const [category, normalized] of Object.entries(expected)) {
      expect({ category, normalized: ashbyCategory(category) }).toEqual({ category, normalized });
    }
  });

  it("refuses a malformed entry, naming the source, the page, the field and the entry", () => {
    const attempt = () =>
      parseRecords(
        SOURCE,
        PAGE,
        AshbyAuditLogEntrySchema,
        [statusChange, { ...statusChange, id: "e3", actor: { id: "x" } }],
        "results",
      );
    expect(attempt).toThrow(ConnectorError);
    expect(attempt).toThrow(
      `source ${SOURCE}: ${PAGE}: malformed response (record id e3): results.1.actor.type: is required`,
    );
    expect(() =>
      parseRecords(
        SOURCE,
        PAGE,
        AshbyAuditLogEntrySchema,
        [{ ...statusChange, createdAt: 1_717_250_602_512 }],
        "results",
      ),
    ).toThrow("results.0.createdAt");
  });
});
