import type { RuleKind } from "../rule-kind.js";
import { matchAlertId, summarize } from "../kind-support.js";
import { matchReference } from "./match.reference.js";

const NO_GROUP = { group: [] };

/** A rule without a stateful kind: every matching event alerts, once per event id. */
export const matchKind: RuleKind<undefined> = {
  name: "match",
  schema: undefined,
  lua: new URL("./match.lua", import.meta.url),
  reference: matchReference,
  titleFields: [],
  compile: () => ({ params: {}, semantics: null, groupPaths: [], read: () => NO_GROUP }),
  alert: ({ rule, trigger }) => ({
    id: matchAlertId(rule.id, trigger.id),
    trigger,
    count: 1,
    windowStart: trigger.time,
    windowEnd: trigger.time,
    eventIds: [trigger.id],
    summaries: [summarize(trigger)],
  }),
};
