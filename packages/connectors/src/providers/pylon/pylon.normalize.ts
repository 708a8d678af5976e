import type { ActionVocabulary, AuditEvent, EventCategory, EventOutcome } from "@vigil/core";
import { categoryFromActionName, outcomeFromActionName } from "../../kit/action-vocabulary.js";
import type { PylonRecord } from "./pylon.records.js";

interface ActionMeaning {
  category: EventCategory;
  outcome: EventOutcome;
}

const done = (category: EventCategory): ActionMeaning => ({ category, outcome: "success" });

/**
 * The documented vocabulary (Pylon's SIEM export article, PROVIDERS.md 1.6). `permission`
 * covers changes to who may do what: roles, API tokens, the org's access settings.
 * Undocumented actions fall back to their name (`categoryFromActionName`).
 */
export const PYLON_ACTION_MEANINGS: Readonly<Record<string, ActionMeaning>> = {
  LoginSucceeded: done("authentication"),
  LoginFailed: { category: "authentication", outcome: "failure" },
  UserCreated: done("create"),
  UserDeleted: done("delete"),
  UserInvited: done("create"),
  UserRoleChanged: done("permission"),
  APITokenCreated: done("permission"),
  APITokenRevoked: done("permission"),
  IssueOpened: done("create"),
  IssueClosed: done("update"),
  IssueAssigned: done("update"),
  IssuePriorityChanged: done("update"),
  OrganizationAccessSettingsUpdated: done("permission"),
  OrganizationEmailSettingsUpdated: done("update"),
  // Pylon noting a missed deadline: nobody acted, so there is nothing to succeed or fail.
  IssueFirstResponseSLABreached: { category: "other", outcome: "unknown" },
  IssueResolutionSLABreached: { category: "other", outcome: "unknown" },
  AccountCreated: done("create"),
  AccountDeleted: done("delete"),
  TeamCreated: done("create"),
  TeamMemberAdded: done("update"),
  TeamMemberRemoved: done("update"),
};

/** The documented actions, as normalized (names not listed are read by `categoryFromActionName`). */
export const PYLON_ACTION_VOCABULARY: ActionVocabulary = Object.entries(PYLON_ACTION_MEANINGS).map(
  ([action, meaning]) => ({ action, category: meaning.category, outcomes: [meaning.outcome] }),
);

export function pylonActionMeaning(action: string): ActionMeaning {
  return (
    PYLON_ACTION_MEANINGS[action] ?? {
      category: categoryFromActionName(action),
      outcome: outcomeFromActionName(action),
    }
  );
}

/** A user of the org, else a customer contact, else Pylon itself for `source: system`; a failed login has none. */
function pylonActor(log: PylonRecord["log"]): AuditEvent["actor"] {
  if (log.actor_user_id) return { id: log.actor_user_id, type: "user" };
  if (log.actor_contact_id) return { id: log.actor_contact_id, type: "contact" };
  if (log.source === "system") return { type: "system" };
  return {};
}

/** A validated Pylon audit log as an AuditEvent; `time` is when the action happened, not when it was logged. */
export function normalizePylonRecord(source: string, { raw, log }: PylonRecord): AuditEvent {
  const { category, outcome } = pylonActionMeaning(log.action);
  const ip = log.metadata?.ip_address;
  const attributes: Record<string, unknown> = { created_at: log.created_at };
  if (log.source != null) attributes.source = log.source;
  if (log.link != null) attributes.link = log.link;
  if (log.attributes != null) attributes.attributes = log.attributes;
  if (log.metadata != null) attributes.metadata = log.metadata;

  return {
    id: `${source}:${log.id}`,
    source,
    provider: "pylon",
    nativeId: log.id,
    time: new Date(Date.parse(log.action_happened_at)).toISOString(),
    action: log.action,
    category,
    outcome,
    actor: pylonActor(log),
    target: {
      ...(log.object_id ? { id: log.object_id } : {}),
      ...(log.object_type === "" ? {} : { type: log.object_type }),
    },
    ...(typeof ip === "string" && ip !== "" ? { ip } : {}),
    attributes,
    raw,
  };
}
