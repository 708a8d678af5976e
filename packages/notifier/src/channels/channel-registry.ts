import type { ChannelConfigBase } from "@vigil/core";
import { z } from "zod";
import type { Channel } from "./channel.js";
import type { ChannelContext, ChannelManifest } from "./channel-manifest.js";
import { alertmanagerManifest } from "./alertmanager/alertmanager.manifest.js";
import { emailManifest } from "./email/email.manifest.js";
import { pagerDutyManifest } from "./pagerduty/pagerduty.manifest.js";
import { slackManifest } from "./slack/slack.manifest.js";
import { teamsManifest } from "./teams/teams.manifest.js";
import { webhookManifest } from "./webhook/webhook.manifest.js";

/** Every channel type, one line each; the config's `channels` schema is derived from this list. */
export const CHANNEL_MANIFESTS = [
  emailManifest,
  webhookManifest,
  slackManifest,
  teamsManifest,
  pagerDutyManifest,
  alertmanagerManifest,
] as const;

type ChannelSchemas = (typeof CHANNEL_MANIFESTS)[number]["configSchema"];
/** Any channel's config, as the registered schemas parse it. */
export type ChannelConfig = z.output<ChannelSchemas>;

/** One branch per registered channel type, discriminated by `type`. */
export const ChannelConfigSchema = z.discriminatedUnion(
  "type",
  CHANNEL_MANIFESTS.map((manifest) => manifest.configSchema) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<ChannelConfig, z.input<ChannelSchemas>>;

const byType = new Map<string, ChannelManifest>(
  (CHANNEL_MANIFESTS as readonly ChannelManifest[]).map((manifest) => [manifest.type, manifest]),
);

/** Builds the channel of a configured channel (parsed by the registered schemas). */
export function createChannel(config: ChannelConfigBase, context: ChannelContext): Channel {
  const manifest = byType.get(config.type);
  if (!manifest)
    throw new Error(`unknown channel type "${config.type}" (registered: ${[...byType.keys()].join(", ")})`);
  return manifest.create(config, context);
}
