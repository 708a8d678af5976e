import { HttpsUrlSchema, SecretSchema } from "@vigil/core";
import { z } from "zod";
import { PROVIDER_SOURCE_SHAPE, refuseInsecureBaseUrl } from "../../kit/source-config.js";

/** A `zendesk` source in config. */
export const ZendeskSourceSchema = z
  .strictObject({
    ...PROVIDER_SOURCE_SHAPE,
    type: z.literal("zendesk"),
    baseUrl: HttpsUrlSchema.describe("the account's https://<subdomain>.zendesk.com"),
    auth: z.union([
      z.strictObject({ email: z.string().min(1), token: SecretSchema }),
      z.strictObject({ oauthToken: SecretSchema }),
    ]),
  })
  .superRefine(refuseInsecureBaseUrl);
export type ZendeskSourceConfig = z.infer<typeof ZendeskSourceSchema>;
