import { formatPosition } from "@vigil/core";
import type { LoadedRule } from "@vigil/engine";
import { rulesReachingNoOne } from "@vigil/notifier";
import type { VigilConfig } from "./vigil-config.js";

/**
 * One line per rule whose alerts can reach no one (no notify list, no route may take them, no
 * defaultRoute). Nothing when the config has no channels: then no alert reaches anyone, by design.
 */
export function unroutedRuleWarnings(rules: readonly LoadedRule[], config: VigilConfig): string[] {
  if (!config.channels.length) return [];
  const unrouted = new Set(
    rulesReachingNoOne(
      rules.map(({ rule }) => ({ ...rule, ruleId: rule.id, ruleName: rule.name })),
      config,
    ),
  );
  return rules
    .filter(({ rule }) => unrouted.has(rule.id))
    .map(
      ({ rule, file, line, column }) =>
        `${formatPosition({ file, line, column })}: rule ${rule.id} can raise alerts that reach no one: it has no notify list, no route takes it and the config has no defaultRoute`,
    );
}
