import { DurationSchema, HttpsUrlSchema, NameSchema } from "@vigil/core";
import { z } from "zod";

/** A `webhook` channel in config: a signed POST (Standard Webhooks). */
export const WebhookChannelSchema = z.strictObject({
  name: NameSchema,
  type: z.literal("webhook"),
  url: HttpsUrlSchema,
  /** Standard Webhooks secret, `whsec_` followed by base64. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "a Standard Webhooks secret: whsec_ followed by base64"),
  timeout: DurationSchema.prefault("10s"),
  headers: z.record(z.string(), z.string()).default({}),
});
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;
