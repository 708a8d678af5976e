import { defineChannel } from "../channel-manifest.js";
import { AlertmanagerChannel } from "./alertmanager.channel.js";
import { AlertmanagerChannelSchema } from "./alertmanager.config.js";

/** The `alertmanager` channel type. */
export const alertmanagerManifest = defineChannel({
  type: "alertmanager",
  configSchema: AlertmanagerChannelSchema,
  create: (config) => new AlertmanagerChannel(config),
});
