import { z } from "zod";
import { DurationSchema, FieldPathSchema, GroupBySchema } from "@vigil/core";

export const ThresholdSchema = z.strictObject({
  count: z
    .number()
    .int()
    .min(1)
    .describe("Alert when at least this many matching events (or distinct values) fall in one window"),
  within: DurationSchema.describe("Window length in event time, e.g. 5m"),
  groupBy: GroupBySchema.describe("Field path(s) to count per, e.g. [actor.id]"),
  distinct: FieldPathSchema.optional().describe("Count distinct values of this field instead of events"),
});
