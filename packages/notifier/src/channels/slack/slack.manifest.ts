import { defineChannel } from "../channel-manifest.js";
import { SlackChannel } from "./slack.channel.js";
import { SlackChannelSchema } from "./slack.config.js";

/** The `slack` channel type. */
export const slackManifest = defineChannel({
  type: "slack",
  configSchema: SlackChannelSchema,
  create: (config, context) => new SlackChannel(config, context),
});
