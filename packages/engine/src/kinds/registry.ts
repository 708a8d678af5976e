import type { z } from "zod";
import type { Rule } from "../rule-schema.js";
import type { RuleKind } from "./rule-kind.js";
import { absenceKind } from "./absence/absence.kind.js";
import { matchKind } from "./match/match.kind.js";
import { newValueKind } from "./new-value/new-value.kind.js";
import { sequenceKind } from "./sequence/sequence.kind.js";
import { thresholdKind } from "./threshold/threshold.kind.js";
import { travelKind } from "./travel/travel.kind.js";

/**
 * Every rule kind, by name: the one place a kind is registered. The rule schema (its kind
 * fields), the kind names and the rule-state script's handlers all derive from it.
 */
export const RULE_KINDS = {
  match: matchKind,
  threshold: thresholdKind,
  sequence: sequenceKind,
  newValue: newValueKind,
  absence: absenceKind,
  travel: travelKind,
} satisfies Record<string, RuleKind<z.ZodType> | RuleKind<undefined>>;

/** Every rule kind Vigil knows; a rule without a kind field is a match rule. */
export type RuleKindName = keyof typeof RULE_KINDS;
export const RULE_KIND_NAMES = Object.keys(RULE_KINDS) as RuleKindName[];

/** The kinds a rule names by a field of its own (every kind but match), with their schemas. */
export type StatefulKindName = {
  [K in RuleKindName]: (typeof RULE_KINDS)[K]["schema"] extends z.ZodType ? K : never;
}[RuleKindName];
export const STATEFUL_KIND_NAMES = RULE_KIND_NAMES.filter(
  (name): name is StatefulKindName => RULE_KINDS[name].schema !== undefined,
);

/** A rule's kind and its spec (the value of its kind field; undefined for match rules). */
export function kindOf(rule: Rule): { name: RuleKindName; kind: RuleKind; spec: unknown } {
  for (const name of STATEFUL_KIND_NAMES) {
    const spec = (rule as Record<string, unknown>)[name];
    if (spec !== undefined) return { name, kind: RULE_KINDS[name] as RuleKind, spec };
  }
  return { name: "match", kind: RULE_KINDS.match as RuleKind, spec: undefined };
}
