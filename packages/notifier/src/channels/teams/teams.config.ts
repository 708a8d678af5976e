import {
  AllowInsecureHttpSchema,
  DurationSchema,
  NameSchema,
  RateLimitConfigSchema,
  refuseInsecureHttp,
} from "@vigil/core";
import { z } from "zod";

/** A `teams` channel in config: a Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received"). */
export const TeamsChannelSchema = z
  .strictObject({
    name: NameSchema,
    type: z.literal("teams"),
    /** The workflow's HTTP trigger URL (a secret: its `sig` parameter is the credential). */
    url: z.url(),
    /** Accept an `http://` url (a local receiver or relay); otherwise it is refused at config load. */
    allowInsecureHttp: AllowInsecureHttpSchema,
    timeout: DurationSchema.prefault("10s"),
    /** Teams allows about four messages a second per webhook. */
    rateLimit: RateLimitConfigSchema.prefault({ requests: 4, per: "1s" }),
  })
  .superRefine(refuseInsecureHttp("url"));
export type TeamsChannelConfig = z.infer<typeof TeamsChannelSchema>;
