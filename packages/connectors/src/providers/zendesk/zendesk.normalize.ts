import type { ActionVocabulary, AuditEvent, EventCategory, EventOutcome } from "@vigil/core";
import type { ZendeskAuditLog, ZendeskRecord } from "./zendesk.records.js";

/** Zendesk's own pseudo-user for changes the platform makes. */
const SYSTEM_ACTOR_ID = -1;
/** The docs spell it `apitoken`; Panther's fixtures (and so, presumably, some accounts) `api_token`. */
const API_TOKEN_TYPES = new Set(["apitoken", "api_token"]);

const CATEGORY_BY_ACTION: Readonly<Record<string, EventCategory>> = {
  login: "authentication",
  exported: "export",
  create: "create",
  update: "update",
  destroy: "delete",
};

/**
 * `category` from `action` and `source_type`: the action's own category, except that changes
 * to who may do what are `permission` — API tokens created or deleted, and a user's role
 * changed (`update` of a `user` whose description reads "Role changed from A to B").
 */
export function zendeskCategory(
  log: Pick<ZendeskAuditLog, "action" | "source_type" | "change_description">,
): EventCategory {
  const category = CATEGORY_BY_ACTION[log.action] ?? "other";
  if (API_TOKEN_TYPES.has(log.source_type) && (category === "create" || category === "delete" || category === "update"))
    return "permission";
  if (log.source_type === "user" && log.action === "update" && /^role changed/i.test(log.change_description ?? ""))
    return "permission";
  return category;
}

/** The documented actions with the categories `zendeskCategory` gives them, by source type. */
export const ZENDESK_ACTION_VOCABULARY: ActionVocabulary = [
  { action: "login", category: "authentication", outcomes: ["success", "failure"], note: "source_type user" },
  { action: "exported", category: "export", outcomes: ["success"], note: "source_type account" },
  { action: "create", category: "create", outcomes: ["success"], note: "source_type user, rule, ticket, app, …" },
  { action: "create", category: "permission", outcomes: ["success"], note: "source_type apitoken" },
  {
    action: "update",
    category: "update",
    outcomes: ["success"],
    note: "rule, account_setting, user_setting, account, …",
  },
  {
    action: "update",
    category: "permission",
    outcomes: ["success"],
    note: 'apitoken; user whose change_description reads "Role changed from A to B"',
  },
  { action: "destroy", category: "delete", outcomes: ["success"], note: "source_type user, rule, ticket, …" },
  { action: "destroy", category: "permission", outcomes: ["success"], note: "source_type apitoken" },
];

/**
 * Zendesk logs changes that were made, so the documented actions succeeded; a `login` entry
 * describing a failed attempt (UNCONFIRMED that Zendesk writes them) is a failure.
 */
export function zendeskOutcome(log: Pick<ZendeskAuditLog, "action" | "change_description">): EventOutcome {
  if (log.action === "login" && /\b(fail(ed|ure)?|unsuccessful|denied|invalid)\b/i.test(log.change_description ?? ""))
    return "failure";
  return log.action in CATEGORY_BY_ACTION ? "success" : "unknown";
}

/** A validated Zendesk audit log as an AuditEvent; `raw` is the record as received. */
export function normalizeZendeskRecord(source: string, { raw, log }: ZendeskRecord): AuditEvent {
  const nativeId = String(log.id);
  const attributes: Record<string, unknown> = {};
  if (log.action_label != null) attributes.action_label = log.action_label;
  if (log.change_description != null) attributes.change_description = log.change_description;

  return {
    id: `${source}:${nativeId}`,
    source,
    provider: "zendesk",
    nativeId,
    time: new Date(Date.parse(log.created_at)).toISOString(),
    action: log.action,
    category: zendeskCategory(log),
    outcome: zendeskOutcome(log),
    actor: {
      id: String(log.actor_id),
      ...(log.actor_name ? { name: log.actor_name } : {}),
      type: log.actor_id === SYSTEM_ACTOR_ID ? "system" : "user",
    },
    target: {
      ...(log.source_id == null ? {} : { id: String(log.source_id) }),
      type: log.source_type,
      ...(log.source_label ? { name: log.source_label } : {}),
    },
    ...(log.ip_address ? { ip: log.ip_address } : {}),
    attributes,
    raw,
  };
}
