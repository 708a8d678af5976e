import { z } from "zod";
import type { RecordFactory, RecordKit } from "../provider.types.js";
import { mergeDraft } from "../shared/draft-merge.js";
import { formatInstant, parseRfc3339Us, type InstantPrecision } from "../shared/instant.js";
import { createPeople, ipFor, type Person, USER_AGENTS } from "../shared/people.js";
import { Rfc3339StringSchema, draftTime } from "../shared/schema-helpers.js";
import { SeededRandom } from "@vigil/core";
import { randomSortedTimes } from "../shared/timeline.js";

/** Pylon's `AuditLog` (OpenAPI `GetAuditLogsResponseBody.data[]`). */
export const PylonAuditLogSchema = z.object({
  id: z.string().min(1),
  action: z.string().min(1),
  action_happened_at: Rfc3339StringSchema,
  created_at: Rfc3339StringSchema,
  actor_user_id: z.string().optional(),
  actor_contact_id: z.string().optional(),
  object_type: z.string(),
  object_id: z.string(),
  // UNCONFIRMED value set: the docs name the field only. We use app | api | email | slack | system.
  source: z.string(),
  link: z.string().optional(),
  attributes: z.record(z.string(), z.string()),
  metadata: z.record(z.string(), z.unknown()),
});
export type PylonAuditLog = z.infer<typeof PylonAuditLogSchema>;

const PYLON_PRECISION: InstantPrecision = "s";
const APP = "https://app.usepylon.com";

type ActorKind = "member" | "admin" | "contact" | "system";

interface PylonActionSpec {
  action: string;
  objectType: string;
  weight: number;
  actor: ActorKind;
}

/** The documented action vocabulary (SIEM export article), weighted like a normal support org's week. */
export const PYLON_ACTIONS: readonly PylonActionSpec[] = [
  { action: "LoginSucceeded", objectType: "user", weight: 30, actor: "member" },
  { action: "LoginFailed", objectType: "user", weight: 6, actor: "member" },
  { action: "UserCreated", objectType: "user", weight: 2, actor: "admin" },
  { action: "UserDeleted", objectType: "user", weight: 1, actor: "admin" },
  { action: "UserInvited", objectType: "user", weight: 2, actor: "admin" },
  { action: "UserRoleChanged", objectType: "user", weight: 1, actor: "admin" },
  { action: "APITokenCreated", objectType: "api_token", weight: 1, actor: "admin" },
  { action: "APITokenRevoked", objectType: "api_token", weight: 1, actor: "admin" },
  { action: "IssueOpened", objectType: "issue", weight: 25, actor: "contact" },
  { action: "IssueClosed", objectType: "issue", weight: 18, actor: "member" },
  { action: "IssueAssigned", objectType: "issue", weight: 15, actor: "member" },
  { action: "IssuePriorityChanged", objectType: "issue", weight: 6, actor: "member" },
  { action: "OrganizationAccessSettingsUpdated", objectType: "organization", weight: 1, actor: "admin" },
  { action: "OrganizationEmailSettingsUpdated", objectType: "organization", weight: 1, actor: "admin" },
  { action: "IssueFirstResponseSLABreached", objectType: "issue", weight: 3, actor: "system" },
  { action: "IssueResolutionSLABreached", objectType: "issue", weight: 2, actor: "system" },
  { action: "AccountCreated", objectType: "account", weight: 3, actor: "member" },
  { action: "AccountDeleted", objectType: "account", weight: 1, actor: "admin" },
  { action: "TeamCreated", objectType: "team", weight: 1, actor: "admin" },
  { action: "TeamMemberAdded", objectType: "team", weight: 2, actor: "admin" },
  { action: "TeamMemberRemoved", objectType: "team", weight: 1, actor: "admin" },
];

const ACCOUNT_NAMES = [
  "Globex",
  "Initech",
  "Umbrella Health",
  "Stark Logistics",
  "Wayne Foods",
  "Hooli",
  "Vandelay Imports",
];
const TEAM_NAMES = ["Tier 1 Support", "Escalations", "Onboarding", "Enterprise Success"];
const ISSUE_TITLES = [
  "Cannot export invoices to CSV",
  "SSO login loops back to sign-in page",
  "Webhook deliveries delayed",
  "Billing address not saved",
  "API returns 502 on bulk update",
  "Dashboard charts empty since Monday",
  "Need to add a new admin",
  "Question about data retention",
];
const ROLES = ["Member", "Admin", "Viewer"];

interface Member extends Person {
  userId: string;
}

function createPylonRecordFactory(context: { seed: number }): RecordFactory<PylonAuditLog> {
  const rng = new SeededRandom(context.seed);
  const members: Member[] = createPeople(rng, 12, "acme-support.example").map((p) => ({ ...p, userId: rng.uuid() }));
  const admins = members.filter((m) => m.admin);
  const contacts = createPeople(rng, 10, "customer.example").map((p) => ({ ...p, contactId: rng.uuid() }));
  const accounts = ACCOUNT_NAMES.map((name) => ({ name, id: rng.uuid() }));
  const teams = TEAM_NAMES.map((name) => ({ name, id: rng.uuid() }));
  const organizationId = rng.uuid();
  let issueNumber = 1040;

  function build(spec: PylonActionSpec, timeUs: number): PylonAuditLog {
    const member = rng.pick(members);
    const admin = rng.pick(admins);
    const contact = rng.pick(contacts);
    const actor = spec.actor === "admin" ? admin : member;
    const viaApi =
      spec.actor !== "contact" && spec.actor !== "system" && !spec.action.startsWith("Login") && rng.chance(0.08);
    const lagUs = rng.int(0, 2) * 1_000_000;
    const ip = ipFor(rng, actor);
    const browserMetadata = { ip_address: ip, user_agent: rng.pick(USER_AGENTS.slice(0, 3)) };
    const record: PylonAuditLog = {
      id: rng.uuid(),
      action: spec.action,
      action_happened_at: formatInstant(timeUs - lagUs, PYLON_PRECISION),
      created_at: formatInstant(timeUs, PYLON_PRECISION),
      object_type: spec.objectType,
      object_id: "",
      source: viaApi ? "api" : "app",
      attributes: {},
      metadata: viaApi ? { ip_address: ip, user_agent: "python-requests/2.32.3" } : browserMetadata,
    };
    if (spec.actor === "member" || spec.actor === "admin") record.actor_user_id = actor.userId;
    if (viaApi) record.attributes.api_token_name = "ops-automation";

    switch (spec.objectType) {
      case "user": {
        const target = spec.action.startsWith("Login") ? actor : rng.pick(members);
        record.object_id = target.userId;
        record.attributes.user_email = target.email;
        if (spec.action === "LoginSucceeded")
          record.attributes.login_method = rng.pick(["password", "google_sso", "saml"]);
        if (spec.action === "LoginFailed") {
          // A failed login has no authenticated actor; the attempt is recorded against the account.
          delete record.actor_user_id;
          record.metadata = {
            ip_address: rng.chance(0.6) ? ip : `198.51.100.${rng.int(1, 254)}`,
            user_agent: rng.pick(USER_AGENTS),
          };
          record.attributes.reason = rng.pick([
            "invalid_password",
            "invalid_password",
            "mfa_failed",
            "sso_assertion_rejected",
          ]);
        }
        if (spec.action === "UserRoleChanged") {
          const previous = rng.pick(ROLES);
          record.attributes.previous_role = previous;
          record.attributes.new_role = rng.pick(ROLES.filter((r) => r !== previous));
        }
        if (spec.action === "UserCreated" || spec.action === "UserInvited") record.attributes.role = rng.pick(ROLES);
        if (!spec.action.startsWith("Login")) record.link = `${APP}/settings/users`;
        break;
      }
      case "api_token":
        record.object_id = rng.uuid();
        record.attributes.token_name = rng.pick(["siem-export", "zapier", "ci-bot", "data-warehouse-sync", "personal"]);
        record.link = `${APP}/settings/api-tokens`;
        break;
      case "issue": {
        const number = spec.action === "IssueOpened" ? ++issueNumber : rng.int(1000, Math.max(1000, issueNumber));
        const account = rng.pick(accounts);
        record.object_id = rng.uuid();
        record.link = `${APP}/issues?issueNumber=${number}`;
        record.attributes.issue_number = String(number);
        record.attributes.account_name = account.name;
        if (spec.action === "IssueOpened") {
          record.actor_contact_id = contact.contactId;
          record.source = rng.pick(["email", "slack", "app"]);
          record.attributes.title = rng.pick(ISSUE_TITLES);
          record.metadata = {};
        }
        if (spec.action === "IssueAssigned") record.attributes.assignee_email = rng.pick(members).email;
        if (spec.action === "IssuePriorityChanged") {
          record.attributes.previous_priority = rng.pick(["low", "medium"]);
          record.attributes.new_priority = rng.pick(["high", "urgent"]);
        }
        if (spec.actor === "system") {
          record.source = "system";
          record.metadata = {};
        }
        break;
      }
      case "organization":
        record.object_id = organizationId;
        record.link = `${APP}/settings/organization`;
        if (spec.action === "OrganizationAccessSettingsUpdated") {
          record.attributes.setting = rng.pick(["allowed_login_methods", "session_timeout", "ip_allowlist"]);
        } else {
          record.attributes.setting = rng.pick(["reply_from_address", "email_signature", "forwarding_address"]);
        }
        break;
      case "account": {
        const account = rng.pick(accounts);
        record.object_id = account.id;
        record.attributes.account_name = account.name;
        record.link = `${APP}/accounts/${account.id}`;
        break;
      }
      case "team": {
        const team = rng.pick(teams);
        record.object_id = team.id;
        record.attributes.team_name = team.name;
        if (spec.action !== "TeamCreated") record.attributes.member_email = rng.pick(members).email;
        record.link = `${APP}/settings/teams`;
        break;
      }
    }
    return record;
  }

  return {
    generate(count, startUs, endUs) {
      return randomSortedTimes(rng, count, startUs, endUs, PYLON_PRECISION).map((timeUs) =>
        build(rng.weighted(PYLON_ACTIONS), timeUs),
      );
    },
    fromDraft(draft, timeUs) {
      const spec = PYLON_ACTIONS.find((s) => s.action === draft.action) ?? rng.weighted(PYLON_ACTIONS);
      const generated = build(spec, timeUs);
      // A draft naming only one of the two times gets the other one equal to it.
      const time = typeof draft.created_at === "string" ? draft.created_at : draft.action_happened_at;
      const timed = typeof time === "string" ? { ...generated, created_at: time, action_happened_at: time } : generated;
      return [mergeDraft(timed, { ...draft, action: draft.action ?? spec.action })];
    },
  };
}

export const pylonRecordKit: RecordKit<"pylon"> = {
  precision: PYLON_PRECISION,
  schema: PylonAuditLogSchema,
  timeOf: (record) => parseRfc3339Us(record.created_at) ?? 0,
  withTime(record, timeUs) {
    const lagUs = (parseRfc3339Us(record.created_at) ?? 0) - (parseRfc3339Us(record.action_happened_at) ?? 0);
    return {
      ...record,
      created_at: formatInstant(timeUs, PYLON_PRECISION),
      action_happened_at: formatInstant(timeUs - lagUs, PYLON_PRECISION),
    };
  },
  idOf: (record) => record.id,
  draftTimeUs: (draft) => draftTime(draft, "created_at", "action_happened_at"),
  toListed: (record) => record,
  createFactory: ({ seed }) => createPylonRecordFactory({ seed }),
};
