import { ACTION_VOCABULARIES } from "@vigil/connectors";
import type { RuleLoadOptions } from "@vigil/engine";
import type { VigilConfig } from "./vigil-config.js";

/**
 * What every command loads rules with: the providers' action vocabularies (from the connectors'
 * manifests; the engine does not depend on the connectors, so the composition root hands them over).
 */
export function ruleLoadOptions(_config: VigilConfig): RuleLoadOptions {
  return { vocabularies: ACTION_VOCABULARIES };
}
