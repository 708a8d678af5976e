import { z } from "zod";
import { RuleSchema } from "@vigil/core";

/** The JSON Schema of one rule document, generated from the zod schema. */
export function ruleJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RuleSchema, { target: "draft-7", io: "input", unrepresentable: "any" }),
    title: "Vigil detection rule",
    $id: "https://vigil.dev/schema/rule.schema.json",
  };
}
