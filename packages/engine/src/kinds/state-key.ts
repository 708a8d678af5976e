import type { Rule } from "../rule-schema.js";
import type { RuleKindName } from "./registry.js";
import type { KindPlan } from "./rule-kind.js";
import { canonicalJson, hashKey } from "./kind-support.js";

/**
 * The key a rule's state lives under: a hash of the rule's id, its kind, its `when` and what
 * its kind counts (plan.semantics: groupBy, window, count, distinct, suppress, steps, …), each
 * in canonical JSON. Name, title, severity, description, tags, notify, tests, enabled and
 * lateness are left out, so a reload that edits only those keeps the state, and an edit of
 * anything that changes what is counted starts afresh.
 */
export function stateKeyOf(
  rule: Pick<Rule, "id" | "when">,
  kind: RuleKindName,
  plan: Pick<KindPlan, "semantics">,
): string {
  return hashKey("rule-state", rule.id, kind, canonicalJson(rule.when), canonicalJson(plan.semantics)).slice(0, 24);
}
