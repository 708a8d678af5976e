import { defineChannel } from "../channel-manifest.js";
import { EmailChannelSchema } from "./email.config.js";
import { EmailChannel } from "./email.channel.js";

/** The `email` channel type. */
export const emailManifest = defineChannel({
  type: "email",
  configSchema: EmailChannelSchema,
  create: (config) => new EmailChannel(config),
});
