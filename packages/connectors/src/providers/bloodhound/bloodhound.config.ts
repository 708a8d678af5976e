import { HttpsUrlSchema, SecretSchema } from "@vigil/core";
import { z } from "zod";
import { PROVIDER_SOURCE_SHAPE, refuseInsecureBaseUrl } from "../../kit/source-config.js";

/** A `bloodhound` source in config. */
export const BloodhoundSourceSchema = z
  .strictObject({
    ...PROVIDER_SOURCE_SHAPE,
    type: z.literal("bloodhound"),
    baseUrl: HttpsUrlSchema.describe("the BloodHound instance, e.g. https://bloodhound.example.com"),
    auth: z.union([
      z.strictObject({ tokenId: z.string().min(1), tokenKey: SecretSchema }),
      z.strictObject({ jwt: SecretSchema }),
    ]),
  })
  .superRefine(refuseInsecureBaseUrl);
export type BloodhoundSourceConfig = z.infer<typeof BloodhoundSourceSchema>;
