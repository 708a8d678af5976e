import { SecretSchema } from "@vigil/core";
import { z } from "zod";
import { PROVIDER_SOURCE_SHAPE, refuseInsecureBaseUrl } from "../../kit/source-config.js";

/** A `logfire` source in config. */
export const LogfireSourceSchema = z
  .strictObject({
    ...PROVIDER_SOURCE_SHAPE,
    type: z.literal("logfire"),
    region: z.enum(["us", "eu"]).default("us"),
    auth: z.strictObject({ token: SecretSchema }),
  })
  .superRefine(refuseInsecureBaseUrl);
export type LogfireSourceConfig = z.infer<typeof LogfireSourceSchema>;
