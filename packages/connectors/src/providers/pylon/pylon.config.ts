import { SecretSchema } from "@vigil/core";
import { z } from "zod";
import { PROVIDER_SOURCE_SHAPE, refuseInsecureBaseUrl } from "../../kit/source-config.js";

/** A `pylon` source in config. */
export const PylonSourceSchema = z
  .strictObject({
    ...PROVIDER_SOURCE_SHAPE,
    type: z.literal("pylon"),
    auth: z.strictObject({ token: SecretSchema }),
  })
  .superRefine(refuseInsecureBaseUrl);
export type PylonSourceConfig = z.infer<typeof PylonSourceSchema>;
