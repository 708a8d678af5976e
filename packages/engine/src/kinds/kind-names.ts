/** Every rule kind Vigil knows; a rule without a kind field is a match rule. */
export const RULE_KIND_NAMES = ["match", "threshold", "sequence", "newValue", "absence"] as const;
export type RuleKindName = (typeof RULE_KIND_NAMES)[number];
