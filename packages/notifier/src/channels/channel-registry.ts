import type { ChannelConfig } from "@vigil/core";
import type { Channel } from "./channel.js";
import { EmailChannel } from "./email.channel.js";
import { WebhookChannel } from "./webhook.channel.js";

type ChannelFactories = { [Type in ChannelConfig["type"]]: (config: Extract<ChannelConfig, { type: Type }>) => Channel };

/** One factory per channel type; a new type in the config schema fails to compile until it is added here. */
export const CHANNEL_FACTORIES = {
  email: (config) => new EmailChannel(config),
  webhook: (config) => new WebhookChannel(config),
} satisfies ChannelFactories;

export function createChannel(config: ChannelConfig): Channel {
  // TypeScript cannot correlate `config.type` with the factory's parameter; the mapped type above guarantees it.
  const factory = CHANNEL_FACTORIES[config.type] as (config: ChannelConfig) => Channel;
  return factory(config);
}
