import { DurationSchema, NameSchema, RateLimitConfigSchema } from "@vigil/core";
import { z } from "zod";

/** A `teams` channel in config: a Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received"). */
export const TeamsChannelSchema = z.strictObject({
  name: NameSchema,
  type: z.literal("teams"),
  /** The workflow's HTTP trigger URL (a secret: its `sig` parameter is the credential). */
  url: z.url(),
  timeout: DurationSchema.prefault("10s"),
  /** Teams allows about four messages a second per webhook. */
  rateLimit: RateLimitConfigSchema.prefault({ requests: 4, per: "1s" }),
});
export type TeamsChannelConfig = z.infer<typeof TeamsChannelSchema>;
