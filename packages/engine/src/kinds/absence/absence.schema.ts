import { z } from "zod";
import { ConditionSchema, DurationSchema, GroupBySchema, WatermarkSourcesSchema } from "@vigil/core";

export const AbsenceSchema = z
  .strictObject({
    groupBy: GroupBySchema.describe("Field path(s) the absence is decided per, e.g. [target.id]"),
    after: ConditionSchema.optional().describe(
      "JsonLogic condition of the anchor event (with `expect`); omit both for a silence rule",
    ),
    expect: ConditionSchema.optional().describe(
      "JsonLogic condition of the event that must follow an anchor within `within` (with `after`)",
    ),
    within: DurationSchema.describe("How long after the anchor (or after each event, silence) to wait, e.g. 1h"),
    sources: WatermarkSourcesSchema,
  })
  .superRefine((absence, ctx) => {
    if (typeof absence !== "object" || absence === null) return;
    const hasAfter = absence.after !== undefined;
    if (hasAfter !== (absence.expect !== undefined))
      ctx.addIssue({
        code: "custom",
        path: [hasAfter ? "expect" : "after"],
        message: "`after` and `expect` go together (omit both for a silence rule)",
      });
  });
