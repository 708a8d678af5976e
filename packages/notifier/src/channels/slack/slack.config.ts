import {
  AllowInsecureHttpSchema,
  DurationSchema,
  NameSchema,
  RateLimitConfigSchema,
  refuseInsecureHttp,
  SecretSchema,
} from "@vigil/core";
import { z } from "zod";

/**
 * A `slack` channel in config: an incoming webhook (`webhookUrl`), or `chat.postMessage` with a
 * bot token and a channel id, which threads a group's later alerts under its first message.
 */
export const SlackChannelSchema = z
  .strictObject({
    name: NameSchema,
    type: z.literal("slack"),
    /** An incoming webhook's URL (it is a secret: its path is the credential). */
    webhookUrl: z.url().optional(),
    /** A bot token (`xoxb-…`) with `chat:write`, for `chat.postMessage`. */
    token: SecretSchema.optional(),
    /** The conversation id to post to with the token, e.g. C0123456789. */
    channel: z.string().min(1).optional(),
    /** The Web API's base URL. */
    apiUrl: z.url().default("https://slack.com/api"),
    /** Accept an `http://` url (a local receiver or relay); otherwise it is refused at config load. */
    allowInsecureHttp: AllowInsecureHttpSchema,
    /** How long a group's later alerts still go to the thread of its first message. */
    threadFor: DurationSchema.prefault("7d"),
    timeout: DurationSchema.prefault("10s"),
    /** Slack allows about one message per second per channel (webhooks and chat.postMessage alike). */
    rateLimit: RateLimitConfigSchema.prefault({ requests: 1, per: "1s" }),
  })
  .superRefine((config, ctx) => {
    const viaToken = config.token !== undefined || config.channel !== undefined;
    if (config.webhookUrl !== undefined && viaToken)
      ctx.addIssue({
        code: "custom",
        path: ["webhookUrl"],
        message: "give webhookUrl, or token and channel, not both",
      });
    else if (config.webhookUrl === undefined && (config.token === undefined || config.channel === undefined))
      ctx.addIssue({
        code: "custom",
        path: [config.token === undefined ? "token" : "channel"],
        message: "a slack channel needs webhookUrl, or token and channel",
      });
  })
  .superRefine(refuseInsecureHttp("webhookUrl"))
  .superRefine(refuseInsecureHttp("apiUrl"));
export type SlackChannelConfig = z.infer<typeof SlackChannelSchema>;
