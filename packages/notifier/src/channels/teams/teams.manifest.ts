import { defineChannel } from "../channel-manifest.js";
import { TeamsChannel } from "./teams.channel.js";
import { TeamsChannelSchema } from "./teams.config.js";

/** The `teams` channel type. */
export const teamsManifest = defineChannel({
  type: "teams",
  configSchema: TeamsChannelSchema,
  create: (config, context) => new TeamsChannel(config, context),
});
