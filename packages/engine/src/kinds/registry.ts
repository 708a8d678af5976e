import type { Rule } from "../rule-schema.js";
import type { RuleKindName } from "./kind-names.js";
import type { RuleKind } from "./rule-kind.js";
import { absenceKind } from "./absence/absence.kind.js";
import { matchKind } from "./match/match.kind.js";
import { newValueKind } from "./new-value/new-value.kind.js";
import { sequenceKind } from "./sequence/sequence.kind.js";
import { thresholdKind } from "./threshold/threshold.kind.js";

/** Every rule kind, by name: the one place a kind is registered. */
export const RULE_KINDS = {
  match: matchKind,
  threshold: thresholdKind,
  sequence: sequenceKind,
  newValue: newValueKind,
  absence: absenceKind,
} satisfies { [K in RuleKindName]: RuleKind<never> };

/** A rule's kind and its spec (the value of its kind field; undefined for match rules). */
export function kindOf(rule: Rule): { kind: RuleKind<unknown>; spec: unknown } {
  for (const name of Object.keys(RULE_KINDS) as RuleKindName[]) {
    if (name === "match") continue;
    const spec = (rule as Record<string, unknown>)[name];
    if (spec !== undefined) return { kind: RULE_KINDS[name] as RuleKind<unknown>, spec };
  }
  return { kind: RULE_KINDS.match as RuleKind<unknown>, spec: undefined };
}
