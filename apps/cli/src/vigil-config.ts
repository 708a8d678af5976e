import { SourceConfigSchema } from "@vigil/connectors";
import { createConfigSchema } from "@vigil/core";
import { ChannelConfigSchema } from "@vigil/notifier";
import type { z } from "zod";

/**
 * The composition root of the config: core's sections joined with the sources of every
 * registered source type (@vigil/connectors) and the channels of every registered channel type
 * (@vigil/notifier). Adding a provider or a channel changes nothing here.
 */
export const VigilConfigSchema = createConfigSchema({ source: SourceConfigSchema, channel: ChannelConfigSchema });
export type VigilConfig = z.infer<typeof VigilConfigSchema>;
export type VigilConfigInput = z.input<typeof VigilConfigSchema>;
