import {
  AllowInsecureHttpSchema,
  DurationSchema,
  NameSchema,
  RateLimitConfigSchema,
  refuseInsecureHttp,
} from "@vigil/core";
import Mustache from "mustache";
import { z } from "zod";
import { WEBHOOK_SECRET_BYTES, webhookKeyLength } from "./webhook-signature.js";

/** A Mustache template, checked to parse when the config loads. */
const TemplateSchema = z.string().superRefine((template, ctx) => {
  try {
    Mustache.parse(template);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: `not a Mustache template: ${err instanceof Error ? err.message : err}` });
  }
});

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
    /** Extra headers; each value is a Mustache template over the notification (line breaks removed). */
    headers: z.record(z.string(), TemplateSchema).default({}),
    /**
     * The body as a Mustache template over the notification, for receivers that want their own
     * shape; without it the body is the alert (or the group) as JSON. Values are JSON-escaped
     * unless a `content-type` header says the body is not JSON.
     */
    body: TemplateSchema.optional(),
    /** The receiver's budget, shared by every replica; a 429's Retry-After pushes it out. */
    rateLimit: RateLimitConfigSchema.prefault({ requests: 50, per: "1s" }),
  })
  .superRefine(refuseInsecureHttp("url"));
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;
