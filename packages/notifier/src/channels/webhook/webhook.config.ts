import { DurationSchema, NameSchema, RateLimitConfigSchema } from "@vigil/core";
import Mustache from "mustache";
import { z } from "zod";

/** A Mustache template, checked to parse when the config loads. */
const TemplateSchema = z.string().superRefine((template, ctx) => {
  try {
    Mustache.parse(template);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `not a Mustache template: ${err instanceof Error ? err.message : err}` });
  }
});

/** A `webhook` channel in config: a signed POST (Standard Webhooks). */
export const WebhookChannelSchema = z.strictObject({
  name: NameSchema,
  type: z.literal("webhook"),
  url: z.url(),
  /** Standard Webhooks secret, `whsec_` followed by base64. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "a Standard Webhooks secret: whsec_ followed by base64"),
  timeout: DurationSchema.prefault("10s"),
  /** Extra headers; each value is a Mustache template over the alert (line breaks removed). */
  headers: z.record(z.string(), TemplateSchema).default({}),
  /**
   * The body as a Mustache template over the alert, for receivers that want their own shape;
   * without it the body is the alert as JSON. Values are JSON-escaped unless a `content-type`
   * header says the body is not JSON.
   */
  body: TemplateSchema.optional(),
  /** The receiver's budget, shared by every replica; a 429's Retry-After pushes it out. */
  rateLimit: RateLimitConfigSchema.prefault({ requests: 50, per: "1s" }),
});
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;
