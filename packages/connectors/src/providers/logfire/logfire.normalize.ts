import type { ActionVocabulary, AuditEvent, EventCategory, EventOutcome } from "@vigil/core";
import type { LogfireRecord } from "./logfire.records.js";

const CATEGORY_BY_ACTION: Readonly<Record<string, EventCategory>> = {
  LOGIN: "authentication",
  LOGOUT: "authentication",
  INSERT: "create",
  UPDATE: "update",
  DELETE: "delete",
};

/**
 * Tables whose rows grant access (memberships, roles, invitations): a row written there is a
 * permission change whatever the verb. Logfire documents only `projects`, `read_tokens` and
 * `write_tokens`, so this matches by name.
 */
const ACCESS_RESOURCE = /(^|_)(members?|memberships?|roles?|permissions?|invitations?)($|_)/;
const ROW_VERBS = new Set(["INSERT", "UPDATE", "DELETE"]);

/** `category` of a Logfire entry: the verb, except that changes to access tables are `permission`. */
export function logfireCategory(action: string, resourceType: string | null | undefined): EventCategory {
  if (ROW_VERBS.has(action) && resourceType && ACCESS_RESOURCE.test(resourceType)) return "permission";
  return CATEGORY_BY_ACTION[action] ?? "other";
}

/** Logfire's actions: a row verb (permission on access tables) or a session. */
export const LOGFIRE_ACTION_VOCABULARY: ActionVocabulary = [
  ...Object.entries(CATEGORY_BY_ACTION).map(([action, category]) => ({
    action,
    category,
    outcomes: ["success" as const],
    ...(ROW_VERBS.has(action) ? { note: "resource_type projects, read_tokens, write_tokens, …" } : {}),
  })),
  ...[...ROW_VERBS].map((action) => ({
    action,
    category: "permission" as const,
    outcomes: ["success" as const],
    note: "resource_type organization_members, roles, invitations, …",
  })),
];

/** Logfire writes an entry only for what happened (no failed-login action exists), so known actions succeeded. */
export function logfireOutcome(action: string): EventOutcome {
  return action in CATEGORY_BY_ACTION ? "success" : "unknown";
}

/** A validated Logfire audit log as an AuditEvent; `raw` is the record as received. */
export function normalizeLogfireRecord(source: string, { raw, log }: LogfireRecord): AuditEvent {
  const attributes: Record<string, unknown> = {};
  if (log.organization_name != null) attributes.organization_name = log.organization_name;
  if (log.project_name != null) attributes.project_name = log.project_name;
  if (log.downgrade_patches != null) attributes.downgrade_patches = log.downgrade_patches;
  if (log.metadata != null) attributes.metadata = log.metadata;

  return {
    id: `${source}:${log.id}`,
    source,
    provider: "logfire",
    nativeId: log.id,
    time: new Date(Date.parse(log.created_at)).toISOString(),
    action: log.action,
    category: logfireCategory(log.action, log.resource_type),
    outcome: logfireOutcome(log.action),
    actor: { ...(log.user_name === "" ? {} : { name: log.user_name }), type: "user" },
    target: {
      ...(log.record_id == null ? {} : { id: log.record_id }),
      ...(log.resource_type == null ? {} : { type: log.resource_type }),
      // On a `projects` row the project is the target; elsewhere it is only the scope (in attributes).
      ...(log.resource_type === "projects" && log.project_name != null ? { name: log.project_name } : {}),
    },
    ...(log.ip_address == null || log.ip_address === "" ? {} : { ip: log.ip_address }),
    attributes,
    raw,
  };
}
