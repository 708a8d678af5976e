import { defineChannel } from "../channel-manifest.js";
import { PagerDutyChannel } from "./pagerduty.channel.js";
import { PagerDutyChannelSchema } from "./pagerduty.config.js";

/** The `pagerduty` channel type. */
export const pagerDutyManifest = defineChannel({
  type: "pagerduty",
  configSchema: PagerDutyChannelSchema,
  create: (config, context) => new PagerDutyChannel(config, context),
});
