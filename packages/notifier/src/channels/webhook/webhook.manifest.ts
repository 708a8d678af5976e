import { defineChannel } from "../channel-manifest.js";
import { WebhookChannelSchema } from "./webhook.config.js";
import { WebhookChannel } from "./webhook.channel.js";

/** The `webhook` channel type. */
export const webhookManifest = defineChannel({
  type: "webhook",
  configSchema: WebhookChannelSchema,
  create: (config, context) => new WebhookChannel(config, context),
});
