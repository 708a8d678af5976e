import { z } from "zod";
import type { RecordFactory, RecordKit } from "../provider.types.js";
import { mergeDraft } from "../shared/draft-merge.js";
import { formatInstant, parseRfc3339Us, type InstantPrecision } from "../shared/instant.js";
import { createPeople, ipFor, type Person } from "../shared/people.js";
import { Rfc3339StringSchema, draftTime } from "../shared/schema-helpers.js";
import { SeededRandom } from "@vigil/core";
import { randomSortedTimes } from "../shared/timeline.js";

/** A Zendesk Support audit log (`GET /api/v2/audit_logs`). */
export const ZendeskAuditLogSchema = z.object({
  id: z.int(),
  url: z.string(),
  action: z.string(),
  action_label: z.string(),
  actor_id: z.int(),
  actor_name: z.string(),
  change_description: z.string(),
  created_at: Rfc3339StringSchema,
  ip_address: z.string().nullable(),
  source_id: z.int(),
  source_label: z.string(),
  source_type: z.string(),
});
export type ZendeskAuditLog = z.infer<typeof ZendeskAuditLogSchema>;

const ZENDESK_PRECISION: InstantPrecision = "s";

/** The documented `action` values and their English `action_label`. */
export const ZENDESK_ACTION_LABELS: Readonly<Record<string, string>> = {
  create: "Created",
  update: "Updated",
  destroy: "Deleted",
  login: "Signed in",
  exported: "Exported",
};

/** Zendesk attributes changes made by the platform itself to this pseudo-user. */
const SYSTEM_ACTOR = { id: -1, name: "Zendesk" };

interface Agent extends Person {
  userId: number;
}

interface Change {
  source_id: number;
  source_label: string;
  change_description: string;
  /** Who did it: an agent, an admin, or the platform. */
  by: "agent" | "admin" | "system";
}

interface ZendeskTemplate {
  action: string;
  sourceType: string;
  weight: number;
  change(ctx: TemplateContext): Change;
}

interface TemplateContext {
  rng: SeededRandom;
  agents: Agent[];
  actor: Agent;
  baseUrl: string;
  randomId(): number;
}

const RULES = [
  "Trigger: Notify requester of comment update",
  "Trigger: Notify assignee of assignment",
  "Macro: Close and redirect to help center",
  "Macro: Downgrade and inform",
  "View: Unassigned tickets",
  "View: Pending tickets",
  "Automation: Close ticket 4 days after status is set to solved",
  "SLA policy: Enterprise customers",
];
const RULE_CHANGES = [
  "Conditions: changed",
  "Actions: changed",
  "Active: changed from false to true",
  "Active: changed from true to false",
  "Position: changed from 3 to 1",
];
const ACCOUNT_SETTINGS: readonly { label: string; descriptions: readonly string[] }[] = [
  { label: "Credit Card Redaction", descriptions: ["Enabled", "Disabled"] },
  { label: "Account Assumption", descriptions: ["Enabled", "Disabled", "Expires: changed from 1 day to 1 month"] },
  { label: "Zendesk Support Mobile App Access", descriptions: ["Enabled", "Disabled"] },
  { label: "Password policy", descriptions: ["Changed from Medium to High", "Changed from High to Low"] },
  { label: "Allow agents to use API tokens", descriptions: ["Enabled", "Disabled"] },
];
const TICKET_SUBJECTS = [
  "Printer on fire",
  "Refund request for order 55012",
  "Cannot reset password",
  "Invoice shows wrong VAT",
  "App crashes on login",
];
const ROLE_CHANGES = [
  "Role changed from End User to Agent",
  "Role changed from Agent to Administrator",
  "Role changed from Administrator to Agent",
  "Role changed from Agent to End User",
  "Role changed from Light Agent to Agent",
];

/** Weighted templates over the documented actions and source types. */
const TEMPLATES: readonly ZendeskTemplate[] = [
  {
    action: "login",
    sourceType: "user",
    weight: 30,
    change: ({ rng, actor, baseUrl }) => ({
      source_id: actor.userId,
      source_label: actor.fullName,
      change_description: `Successful sign-in using ${rng.pick(["Zendesk password", "Google", "SAML SSO"])} from ${baseUrl}/access/login`,
      by: "agent",
    }),
  },
  {
    action: "update",
    sourceType: "rule",
    weight: 14,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: rng.pick(RULES),
      change_description: rng.pick(RULE_CHANGES),
      by: rng.chance(0.1) ? "system" : "agent",
    }),
  },
  {
    action: "create",
    sourceType: "rule",
    weight: 5,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: rng.pick(RULES),
      change_description: "Created",
      by: "agent",
    }),
  },
  {
    action: "destroy",
    sourceType: "rule",
    weight: 3,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: rng.pick(RULES),
      change_description: "Deleted",
      by: "agent",
    }),
  },
  {
    action: "destroy",
    sourceType: "ticket",
    weight: 3,
    change: ({ rng }) => {
      const ticket = rng.int(1000, 9999);
      return {
        source_id: ticket,
        source_label: `#${ticket} ${rng.pick(TICKET_SUBJECTS)}`,
        change_description: "Deleted",
        by: "agent",
      };
    },
  },
  {
    action: "update",
    sourceType: "user",
    weight: 2,
    change: ({ rng, agents }) => {
      const target = rng.pick(agents);
      return {
        source_id: target.userId,
        source_label: target.fullName,
        change_description: rng.pick(ROLE_CHANGES),
        by: "admin",
      };
    },
  },
  {
    action: "create",
    sourceType: "user",
    weight: 3,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: `${rng.pick(["Jordan", "Sam", "Alex", "Robin"])} ${rng.pick(["Reyes", "Okoro", "Lindqvist", "Baptiste"])}`,
      change_description: "Created",
      by: "agent",
    }),
  },
  {
    action: "destroy",
    sourceType: "user",
    weight: 1,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: `${rng.pick(["Casey", "Morgan", "Taylor"])} ${rng.pick(["Nguyen", "Schmidt", "Oduya"])}`,
      change_description: "Deleted",
      by: "admin",
    }),
  },
  {
    action: "create",
    sourceType: "apitoken",
    weight: 1,
    change: ({ randomId }) => ({
      source_id: randomId(),
      source_label: "API token",
      change_description: "Created",
      by: "admin",
    }),
  },
  {
    action: "destroy",
    sourceType: "apitoken",
    weight: 1,
    change: ({ randomId }) => ({
      source_id: randomId(),
      source_label: "API token",
      change_description: "Deleted",
      by: "admin",
    }),
  },
  {
    action: "update",
    sourceType: "account_setting",
    weight: 2,
    change: ({ rng, randomId }) => {
      const setting = rng.pick(ACCOUNT_SETTINGS);
      return {
        source_id: randomId(),
        source_label: setting.label,
        change_description: rng.pick(setting.descriptions),
        by: "admin",
      };
    },
  },
  {
    action: "update",
    sourceType: "user_setting",
    weight: 1,
    change: ({ rng, agents }) => {
      const target = rng.pick(agents);
      return {
        source_id: target.userId,
        source_label: target.fullName,
        change_description: rng.pick(["User suspended", "User unsuspended"]),
        by: "admin",
      };
    },
  },
  {
    action: "update",
    sourceType: "account",
    weight: 0.2,
    change: ({ rng, agents, randomId }) => {
      const [from, to] = [rng.pick(agents), rng.pick(agents)];
      return {
        source_id: randomId(),
        source_label: "Account",
        change_description: `Owner changed from ${from.fullName} to ${to.fullName}`,
        by: "admin",
      };
    },
  },
  {
    action: "exported",
    sourceType: "account",
    weight: 1,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: rng.pick(["Full JSON export", "Ticket CSV export", "User XML export"]),
      change_description: "Export requested",
      by: "admin",
    }),
  },
  {
    action: "create",
    sourceType: "zendesk/app_market/app",
    weight: 1,
    change: ({ rng, randomId }) => ({
      source_id: randomId(),
      source_label: rng.pick(["Slack", "Jira", "Salesforce", "Shopify"]),
      change_description: "Installed",
      by: "admin",
    }),
  },
];

function createZendeskRecordFactory(context: { seed: number; baseUrl: string }): RecordFactory<ZendeskAuditLog> {
  const rng = new SeededRandom(context.seed);
  const agents: Agent[] = createPeople(rng, 14, "acme.example").map((p) => ({
    ...p,
    userId: rng.int(360_000_000_000, 399_999_999_999),
  }));
  const admins = agents.filter((a) => a.admin);
  // Audit-log ids are a serial shared with other accounts on the pod, hence the gaps.
  let nextId = rng.int(498_000, 499_000);
  const randomId = () => rng.int(360_000_000_000, 399_999_999_999);

  function build(template: ZendeskTemplate, timeUs: number): ZendeskAuditLog {
    const agent = rng.pick(agents);
    const change = template.change({ rng, agents, actor: agent, baseUrl: context.baseUrl, randomId });
    const actor = change.by === "admin" ? rng.pick(admins) : agent;
    const id = nextId;
    nextId += rng.int(1, 40);
    return {
      id,
      url: `${context.baseUrl}/api/v2/audit_logs/${id}.json`,
      action: template.action,
      action_label: ZENDESK_ACTION_LABELS[template.action] ?? template.action,
      actor_id: change.by === "system" ? SYSTEM_ACTOR.id : actor.userId,
      actor_name: change.by === "system" ? SYSTEM_ACTOR.name : actor.fullName,
      change_description: change.change_description,
      created_at: formatInstant(timeUs, ZENDESK_PRECISION),
      ip_address: change.by === "system" ? null : ipFor(rng, actor),
      source_id: change.source_id,
      source_label: change.source_label,
      source_type: template.sourceType,
    };
  }

  return {
    generate(count, startUs, endUs) {
      return randomSortedTimes(rng, count, startUs, endUs, ZENDESK_PRECISION).map((timeUs) =>
        build(rng.weighted(TEMPLATES), timeUs),
      );
    },
    fromDraft(draft, timeUs) {
      const candidates = TEMPLATES.filter(
        (t) => t.action === draft.action && (draft.source_type === undefined || t.sourceType === draft.source_type),
      );
      const template = candidates.length > 0 ? rng.weighted(candidates) : rng.weighted(TEMPLATES);
      const merged = mergeDraft(build(template, timeUs), draft);
      // A draft that sets its own id or action keeps url and label consistent with it.
      return [
        {
          ...merged,
          url: typeof draft.url === "string" ? draft.url : `${context.baseUrl}/api/v2/audit_logs/${merged.id}.json`,
          action_label:
            typeof draft.action_label === "string"
              ? draft.action_label
              : (ZENDESK_ACTION_LABELS[merged.action] ?? merged.action),
        },
      ];
    },
  };
}

export const zendeskRecordKit: RecordKit<"zendesk"> = {
  precision: ZENDESK_PRECISION,
  schema: ZendeskAuditLogSchema,
  timeOf: (record) => parseRfc3339Us(record.created_at) ?? 0,
  withTime: (record, timeUs) => ({ ...record, created_at: formatInstant(timeUs, ZENDESK_PRECISION) }),
  idOf: (record) => String(record.id),
  draftTimeUs: (draft) => draftTime(draft, "created_at"),
  toListed: (record) => record,
  createFactory: ({ seed, baseUrl }) => createZendeskRecordFactory({ seed, baseUrl }),
};
