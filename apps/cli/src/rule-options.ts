import { readFileSync } from "node:fs";
import { ACTION_VOCABULARIES } from "@vigil/connectors";
import { configRuleDocuments, type RuleLoadOptions } from "@vigil/engine";
import type { VigilConfig } from "./vigil-config.js";

/**
 * What every command loads rules with: the providers' action vocabularies (from the connectors'
 * manifests; the engine does not depend on the connectors, so the composition root hands them
 * over) and the config's `rules.overrides`, `rules.lists` and `rules.macros`, located in its file.
 */
export function ruleLoadOptions(config: VigilConfig & { file?: string }): RuleLoadOptions {
  const { overrides, lists, macros } = config.rules;
  const hasTuning = overrides.length + lists.length + macros.length > 0;
  return {
    vocabularies: ACTION_VOCABULARIES,
    ...(hasTuning && config.file
      ? { tuning: configRuleDocuments(readFileSync(config.file, "utf8"), config.file) }
      : {}),
  };
}
