import type { EventCategory, EventOutcome } from "@vigil/core";

/**
 * Category of an action named `NounPastVerb` (Pylon's `UserRoleChanged`, Ashby's
 * `ApplicationStageChanged`), for names a provider's documented table does not list:
 * providers add actions without notice, and a new one should land in a useful category
 * rather than `other`. Checked in order; the first match wins.
 */
const CATEGORY_PATTERNS: readonly [RegExp, EventCategory][] = [
  [/Log(in|out)|Logged(In|Out)|Sign(ed)?(In|Out)/, "authentication"],
  [/Export/, "export"],
  [/Permission|Role|ApiKey|APIToken|ApiToken|AccessSetting/, "permission"],
  [/(Created|Opened|Invited)$/, "create"],
  [/(Deleted|Removed|Destroyed)$/, "delete"],
  [/(Viewed|Downloaded)$/, "read"],
  [
    /(Updated|Changed|Assigned|Closed|Reopened|Added|Merged|Archived|Unarchived|Published|Unpublished|Approved|Rejected|Deactivated|Reactivated|Moved|Revoked)$/,
    "update",
  ],
];

export function categoryFromActionName(action: string): EventCategory {
  return CATEGORY_PATTERNS.find(([pattern]) => pattern.test(action))?.[1] ?? "other";
}

/**
 * Outcome of an action name the provider's table does not list: an audit entry records
 * something that took effect, unless its name says it failed. (`OfferRejected` is a
 * successful rejection, so only `Failed` counts.)
 */
export function outcomeFromActionName(action: string): EventOutcome {
  return /Failed$/.test(action) ? "failure" : "success";
}
