import { createConfigSchema } from "@vigil/core";
import { z } from "zod";
import { ChannelConfigSchema } from "../channels/channel-registry.js";

/** The config schema with this package's channels and no sources, for its own tests. */
export const NotifierConfigSchema = createConfigSchema({ source: z.never(), channel: ChannelConfigSchema });
export type NotifierConfigInput = z.input<typeof NotifierConfigSchema>;
