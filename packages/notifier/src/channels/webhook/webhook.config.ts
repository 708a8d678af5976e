import { AllowInsecureHttpSchema, DurationSchema, NameSchema, refuseInsecureHttp } from "@vigil/core";
import { z } from "zod";
import { WEBHOOK_SECRET_BYTES, webhookKeyLength } from "./webhook-signature.js";

/** A `webhook` channel in config: a signed POST (Standard Webhooks). */
export const WebhookChannelSchema = z
  .strictObject({
    name: NameSchema,
    type: z.literal("webhook"),
    url: z.url({ protocol: /^https?$/ }),
    /** Accept an `http://` url (a receiver on the same host); otherwise it is refused at config load. */
    allowInsecureHttp: AllowInsecureHttpSchema,
    /** Standard Webhooks secret, `whsec_` followed by the base64 of 24 to 64 random bytes. */
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "a Standard Webhooks secret: whsec_ followed by base64")
      .refine(
        (secret) => {
          const bytes = webhookKeyLength(secret);
          return bytes >= WEBHOOK_SECRET_BYTES.min && bytes <= WEBHOOK_SECRET_BYTES.max;
        },
        {
          error: (issue) =>
            `a Standard Webhooks secret decodes to ${WEBHOOK_SECRET_BYTES.min} to ${WEBHOOK_SECRET_BYTES.max} bytes; this one decodes to ${webhookKeyLength(String(issue.input))} (make one with: echo "whsec_$(openssl rand -base64 32)")`,
        },
      ),
    timeout: DurationSchema.prefault("10s"),
    headers: z.record(z.string(), z.string()).default({}),
  })
  .superRefine(refuseInsecureHttp("url"));
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;
