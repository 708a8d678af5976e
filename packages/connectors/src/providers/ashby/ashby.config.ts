import { SecretSchema } from "@vigil/core";
import { z } from "zod";
import { PROVIDER_SOURCE_SHAPE, refuseInsecureBaseUrl } from "../../kit/source-config.js";

/** A `ashby` source in config. */
export const AshbySourceSchema = z
  .strictObject({
    ...PROVIDER_SOURCE_SHAPE,
    type: z.literal("ashby"),
    auth: z.strictObject({ apiKey: SecretSchema }),
  })
  .superRefine(refuseInsecureBaseUrl);
export type AshbySourceConfig = z.infer<typeof AshbySourceSchema>;
