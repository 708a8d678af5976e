import { z } from "zod";
import { DurationSchema, FieldPathSchema, GroupBySchema, WatermarkSourcesSchema } from "@vigil/core";

/** `learning: 0` turns learning off; any other duration, e.g. 7d. */
const LearningSchema = z
  .union([z.literal(0), z.literal("0"), DurationSchema])
  .transform((v) => (v === 0 || v === "0" ? 0 : v));

export const NewValueSchema = z.strictObject({
  groupBy: GroupBySchema.describe("Field path(s) values are remembered per, e.g. [actor.email]"),
  fields: z
    .union([FieldPathSchema, z.array(FieldPathSchema).min(1).max(5, "at most 5 fields")])
    .transform((v) => (typeof v === "string" ? [v] : v))
    .describe("The value is the tuple of these fields (1 to 5); events missing one are ignored"),
  learning: LearningSchema.describe(
    "0, or longer than lateness: a group alerts only once it has an event at least this old",
  ),
  forgetAfter: DurationSchema.describe("A value not seen for this long is new again, e.g. 30d"),
  maxValuesPerGroup: z
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe("Beyond it the least recently seen values are forgotten (counted in vigil_rule_values_forgotten_total)"),
  sources: WatermarkSourcesSchema,
});

/** What a newValue alert adds: the value (each field path mapped to its value), and when it was last seen before (ISO-8601), if ever. */
export const NewValueEvidenceSchema = z.strictObject({
  value: z.record(z.string(), z.unknown()),
  lastSeen: z.string().optional(),
});
