import type { ActionVocabulary, AuditEvent, EventCategory, EventOutcome } from "@vigil/core";
import type { BloodHoundAuditLog, BloodHoundRecord } from "./bloodhound.records.js";

/** How an action reads: its category and the kind of thing it acts on. */
export interface BloodHoundActionMeaning {
  category: EventCategory;
  targetType: string;
}

const meaning = (category: EventCategory, targetType: string): BloodHoundActionMeaning => ({ category, targetType });

/** The action vocabulary of `model/audit.go` (PROVIDERS.md 5.6). */
export const BLOODHOUND_ACTION_MEANINGS: Readonly<Record<string, BloodHoundActionMeaning>> = {
  LoginAttempt: meaning("authentication", "user"),
  // A request refused for lack of permission: an access-control event, always a failure.
  UnauthorizedAccessAttempt: meaning("permission", "endpoint"),
  AcceptEULA: meaning("other", "eula"),
  AcceptFedEULA: meaning("other", "eula"),
  CreateUser: meaning("create", "user"),
  UpdateUser: meaning("update", "user"),
  DeleteUser: meaning("delete", "user"),
  CreateAuthToken: meaning("create", "auth_token"),
  UpdateAuthTokenExpiration: meaning("update", "auth_token"),
  DeleteAuthToken: meaning("delete", "auth_token"),
  DeleteAllAuthTokens: meaning("delete", "auth_token"),
  CreateAuthSecret: meaning("create", "auth_secret"),
  UpdateAuthSecret: meaning("update", "auth_secret"),
  DeleteAuthSecret: meaning("delete", "auth_secret"),
  CreateSAMLIdentityProvider: meaning("create", "saml_identity_provider"),
  UpdateSAMLIdentityProvider: meaning("update", "saml_identity_provider"),
  CreateOIDCIdentityProvider: meaning("create", "oidc_identity_provider"),
  UpdateOIDCIdentityProvider: meaning("update", "oidc_identity_provider"),
  CreateSSOIdentityProvider: meaning("create", "sso_identity_provider"),
  UpdateSSOIdentityProvider: meaning("update", "sso_identity_provider"),
  DeleteSSOIdentityProvider: meaning("delete", "sso_identity_provider"),
  CreateAssetGroup: meaning("create", "asset_group"),
  UpdateAssetGroup: meaning("update", "asset_group"),
  DeleteAssetGroup: meaning("delete", "asset_group"),
  DeleteAssetGroupSelector: meaning("delete", "asset_group_selector"),
  CreateAssetGroupTag: meaning("create", "asset_group_tag"),
  UpdateAssetGroupTag: meaning("update", "asset_group_tag"),
  DeleteAssetGroupTag: meaning("delete", "asset_group_tag"),
  CreateAssetGroupTagSelector: meaning("create", "asset_group_tag_selector"),
  UpdateAssetGroupTagSelector: meaning("update", "asset_group_tag_selector"),
  DeleteAssetGroupTagSelector: meaning("delete", "asset_group_tag_selector"),
  AcceptRisk: meaning("update", "risk"),
  UnacceptRisk: meaning("update", "risk"),
  ExportRelationshipRisks: meaning("export", "risk"),
  ExportListRisks: meaning("export", "risk"),
  ExportAllRisks: meaning("export", "risk"),
  DeleteBloodhoundData: meaning("delete", "graph_data"),
  MutateGraph: meaning("update", "graph"),
  UpdateParameter: meaning("update", "parameter"),
  CreateCustomNodeKind: meaning("create", "custom_node_kind"),
  UpdateCustomNodeKind: meaning("update", "custom_node_kind"),
  DeleteCustomNodeKind: meaning("delete", "custom_node_kind"),
  ToggleEarlyAccessFeatureFlag: meaning("update", "feature_flag"),
  CreateClient: meaning("create", "client"),
  ReplaceClientToken: meaning("update", "client"),
  ImportSavedQueries: meaning("create", "saved_query"),
  ExportSavedQuery: meaning("export", "saved_query"),
  ExportSavedQueries: meaning("export", "saved_query"),
  // Environment-targeted access control lists decide who sees which environments.
  UpdateETACList: meaning("permission", "etac_list"),
  DeleteETACList: meaning("permission", "etac_list"),
  CreateGraphSchemaExtension: meaning("create", "graph_schema_extension"),
  DeleteGraphSchemaExtension: meaning("delete", "graph_schema_extension"),
  CreateSupportUserSessionAttempt: meaning("authentication", "support_session"),
  InvalidateSupportUserSession: meaning("authentication", "support_session"),
  InvalidateAllSupportUserSessions: meaning("authentication", "support_session"),
};

/**
 * The actions of `model/audit.go`; audited changes are an `intent` row (outcome unknown) and then a
 * success or failure row.
 */
export const BLOODHOUND_ACTION_VOCABULARY: ActionVocabulary = Object.entries(BLOODHOUND_ACTION_MEANINGS).map(
  ([action, { category, targetType }]) => ({
    action,
    category,
    outcomes: ["unknown", "success", "failure"],
    note: `target.type ${targetType}`,
  }),
);

/** Leading verbs of actions not (yet) in the table; the vocabulary grows with every release. */
const CATEGORY_BY_VERB: readonly [RegExp, EventCategory][] = [
  [/^(Create|Import|Add)/, "create"],
  [/^(Update|Replace|Toggle|Accept|Unaccept|Mutate|Set)/, "update"],
  [/^(Delete|Remove)/, "delete"],
  [/^Export/, "export"],
  [/^(Login|Logout|Invalidate)/, "authentication"],
];

/** `category` and target type of an action: from the table, else from its verb and noun. */
export function bloodHoundActionMeaning(action: string): BloodHoundActionMeaning {
  const known = BLOODHOUND_ACTION_MEANINGS[action];
  if (known) return known;
  const verb = CATEGORY_BY_VERB.find(([pattern]) => pattern.test(action));
  const noun = verb ? action.replace(verb[0], "") : action;
  return { category: verb?.[1] ?? "other", targetType: snakeCase(noun) || snakeCase(action) };
}

const OUTCOME_BY_STATUS: Readonly<Record<string, EventOutcome>> = {
  success: "success",
  failure: "failure",
  intent: "unknown",
};

/** `success`/`failure` rows carry the outcome; an `intent` row (written before the change) has none yet. */
export function bloodHoundOutcome(status: string): EventOutcome {
  return OUTCOME_BY_STATUS[status] ?? "unknown";
}

/**
 * The client's address from `source_ip_address`: `X-Forwarded-For` entries then the remote
 * address (`ip:port`) joined by commas, so the first entry is the client; port and IPv6
 * brackets are removed.
 */
export function bloodHoundClientIp(address: string | null | undefined): string | undefined {
  if (!address) return undefined;
  const comma = address.indexOf(",");
  const first = (comma < 0 ? address : address.slice(0, comma)).trim();
  if (!first) return undefined;
  if (first.startsWith("[")) {
    const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(first);
    if (bracketed) return bracketed[1];
  }
  // One colon: IPv4 with a port. More: a bare IPv6 address, which has no port here.
  const colon = first.indexOf(":");
  return colon >= 0 && first.indexOf(":", colon + 1) < 0 ? first.slice(0, colon) : first;
}

/** A BloodHound audit row as an AuditEvent; `raw` is the row as received. */
export function normalizeBloodHoundRecord(source: string, record: BloodHoundRecord): AuditEvent {
  // Built field by field rather than by spreading optional parts: this runs for every row of a
  // backfill. Keys keep the order of the AuditEvent contract.
  const { raw, log } = record;
  const nativeId = String(log.id);
  const meaning = bloodHoundActionMeaning(log.action);
  const fields = log.fields ?? {};
  const address = log.source_ip_address ?? log.source;
  const ip = bloodHoundClientIp(address);

  const attributes: Record<string, unknown> = { status: log.status, commit_id: log.commit_id, fields };
  if (log.request_id) attributes.request_id = log.request_id;
  if (address) attributes.source_ip_address = address;

  const actor: AuditEvent["actor"] = {};
  if (log.actor_id) actor.id = log.actor_id;
  if (log.actor_name) actor.name = log.actor_name;
  if (log.actor_email) actor.email = log.actor_email;
  if (log.actor_id || log.actor_name || log.actor_email) actor.type = "user";

  const id = `${source}:${nativeId}`;
  const time = new Date(Date.parse(log.created_at)).toISOString();
  const outcome = bloodHoundOutcome(log.status);
  const target = targetOf(log, meaning.targetType, fields);
  return ip
    ? {
        id,
        source,
        provider: "bloodhound",
        nativeId,
        time,
        action: log.action,
        category: meaning.category,
        outcome,
        actor,
        target,
        ip,
        attributes,
        raw,
      }
    : {
        id,
        source,
        provider: "bloodhound",
        nativeId,
        time,
        action: log.action,
        category: meaning.category,
        outcome,
        actor,
        target,
        attributes,
        raw,
      };
}

/** A non-empty string, or a number, as text. */
function text(value: unknown): string | undefined {
  return (typeof value === "string" && value !== "") || typeof value === "number" ? String(value) : undefined;
}

/** What the action was done to, from the audited model's fields (their keys differ by model). */
function targetOf(log: BloodHoundAuditLog, type: string, fields: Record<string, unknown>): AuditEvent["target"] {
  let id: string | undefined;
  let name: string | undefined;
  switch (log.action) {
    case "LoginAttempt":
      // The account a login tried; also set on failures for user names that do not exist.
      name = text(fields.username);
      break;
    case "UnauthorizedAccessAttempt":
      name = text(fields.path);
      break;
    case "DeleteAllAuthTokens":
      // Every token of one user: no single token is named (the user is `fields.user_id`).
      break;
    case "UpdateParameter":
      id = text(fields.key);
      break;
    default:
      id = text(fields.id) ?? text(fields.finding);
      name = text(fields.principal_name) ?? text(fields.name);
  }
  const target: AuditEvent["target"] = {};
  if (id !== undefined) target.id = id;
  target.type = type;
  if (name !== undefined) target.name = name;
  return target;
}

function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}
