import type { ActionVocabulary, AuditEvent, EventCategory } from "@vigil/core";
import { categoryFromActionName, outcomeFromActionName } from "../../kit/action-vocabulary.js";
import type { AshbyRecord } from "./ashby.records.js";

/**
 * Categories whose name alone would mislead. Ashby's full table was not retrievable
 * (PROVIDERS.md 3.6); every other category is read from its name (`categoryFromActionName`):
 * `…Created` create, `…Deleted` delete, `…Changed`/`…Updated`/`…Archived`/... update,
 * `…SignedIn` authentication, `…Exported` export.
 */
export const ASHBY_CATEGORY_OVERRIDES: Readonly<Record<string, EventCategory>> = {
  // A user's permissions and API keys decide who may do what.
  AppUserPermissionsChanged: "permission",
  ApiKeyCreated: "permission",
  ApiKeyRevoked: "permission",
};

export function ashbyCategory(category: string): EventCategory {
  return ASHBY_CATEGORY_OVERRIDES[category] ?? categoryFromActionName(category);
}

/**
 * The audit-log categories known (PROVIDERS.md 3.6: only `JobStatusChanged` is documented by
 * name; the rest follow Ashby's naming), with the category and outcome they are given.
 */
export const ASHBY_ACTION_VOCABULARY: ActionVocabulary = [
  "AppUserSignedIn",
  "AppUserInvited",
  "AppUserDeactivated",
  "AppUserReactivated",
  "AppUserPermissionsChanged",
  "ApiKeyCreated",
  "ApiKeyRevoked",
  "ReportExported",
  "JobCreated",
  "JobUpdated",
  "JobStatusChanged",
  "JobPostingPublished",
  "JobPostingUnpublished",
  "ApplicationCreated",
  "ApplicationStageChanged",
  "ApplicationArchived",
  "CandidateCreated",
  "CandidateUpdated",
  "CandidateMerged",
  "CandidateDeleted",
  "OfferCreated",
  "OfferApproved",
].map((action) => ({ action, category: ashbyCategory(action), outcomes: [outcomeFromActionName(action)] }));

const KNOWN_FIELDS = new Set(["id", "createdAt", "category", "actor", "target"]);

/** A validated Ashby audit-log entry as an AuditEvent; `raw` is the entry as received. */
export function normalizeAshbyRecord(source: string, { raw, entry }: AshbyRecord): AuditEvent {
  const { actor, target } = entry;
  // Fields Ashby may add (details, changes) are kept for rules to match on.
  const attributes = Object.fromEntries(Object.entries(raw).filter(([key]) => !KNOWN_FIELDS.has(key)));
  return {
    id: `${source}:${entry.id}`,
    source,
    provider: "ashby",
    nativeId: entry.id,
    time: new Date(Date.parse(entry.createdAt)).toISOString(),
    action: entry.category,
    category: ashbyCategory(entry.category),
    // An entry records a change that was made.
    outcome: outcomeFromActionName(entry.category),
    actor: {
      ...(actor.id ? { id: actor.id } : {}),
      ...(actor.name ? { name: actor.name } : {}),
      ...(actor.email ? { email: actor.email } : {}),
      type: actor.type,
    },
    target: {
      ...(target.id ? { id: target.id } : {}),
      type: target.type,
      ...(target.name ? { name: target.name } : {}),
    },
    attributes,
    raw,
  };
}
