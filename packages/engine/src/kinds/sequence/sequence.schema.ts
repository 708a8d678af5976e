import { z } from "zod";
import { ConditionSchema, DurationSchema, GroupBySchema } from "@vigil/core";

const SequenceStepSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only")
    .describe("The step's name, shown in the alert's chain"),
  when: ConditionSchema.describe("JsonLogic condition an event must also satisfy to count for this step"),
  count: z.number().int().min(1).default(1).describe("How many distinct events this step needs (default 1)"),
});

export const SequenceSchema = z
  .strictObject({
    groupBy: GroupBySchema.describe("Field path(s) the chain is kept per, e.g. [actor.email]"),
    within: DurationSchema.describe("The chain's last event minus its first is less than this, e.g. 30m"),
    ordered: z.boolean().default(true).describe("Steps happen in order (default); false: all steps, any order"),
    steps: z.array(SequenceStepSchema).min(2, "a sequence has 2 to 5 steps").max(5, "a sequence has 2 to 5 steps"),
  })
  .superRefine((sequence, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, step] of (sequence.steps ?? []).entries()) {
      if (typeof step?.name !== "string") continue;
      const first = seen.get(step.name);
      if (first !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["steps", i, "name"],
          message: `step name "${step.name}" is already step ${first + 1}'s`,
        });
      else seen.set(step.name, i);
    }
  });

/** What a sequence alert adds: the chain that made it, per step its name and event ids. */
export const SequenceEvidenceSchema = z.strictObject({
  chain: z.array(z.strictObject({ name: z.string(), eventIds: z.array(z.string()) })),
});
