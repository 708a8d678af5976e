import {
  AllowInsecureHttpSchema,
  DurationSchema,
  NameSchema,
  RateLimitConfigSchema,
  refuseInsecureHttp,
  SecretSchema,
} from "@vigil/core";
import { z } from "zod";

/** A `pagerduty` channel in config: PagerDuty's Events API v2. */
export const PagerDutyChannelSchema = z
  .strictObject({
    name: NameSchema,
    type: z.literal("pagerduty"),
    /** The integration's routing key (Events API v2), 32 characters. */
    routingKey: SecretSchema.regex(/^[A-Za-z0-9]{32}$/, "a PagerDuty Events API v2 routing key: 32 letters and digits"),
    url: z.url().default("https://events.pagerduty.com/v2/enqueue"),
    /** Accept an `http://` url (a local receiver or relay); otherwise it is refused at config load. */
    allowInsecureHttp: AllowInsecureHttpSchema,
    /** The event's `source` (the affected system); default `vigil`. */
    source: z.string().min(1).default("vigil"),
    timeout: DurationSchema.prefault("10s"),
    /** PagerDuty accepts 120 events a minute per routing key. */
    rateLimit: RateLimitConfigSchema.prefault({ requests: 120, per: "1m" }),
  })
  .superRefine(refuseInsecureHttp("url"));
export type PagerDutyChannelConfig = z.infer<typeof PagerDutyChannelSchema>;
