import type { Channel, Notification } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import { renderNotificationMessage } from "../../render/notification-message.js";
import { teamsMessage } from "./teams.card.js";
import type { TeamsChannelConfig } from "./teams.config.js";

/** Posts a notification (an alert, or a group's alerts) as one Adaptive Card to a Teams Workflows webhook. Errors name the host only. */
export class TeamsChannel implements Channel {
  readonly name: string;
  private readonly target: HttpTarget;

  constructor(
    private readonly config: TeamsChannelConfig,
    context: ChannelContext,
  ) {
    this.name = config.name;
    this.target = {
      channel: config.name,
      receiver: `Teams ${new URL(config.url).host}`,
      timeoutMs: config.timeout,
      limiter: channelLimiter(context, `teams:${config.url}`, config.rateLimit),
    };
  }

  async send(notification: Notification): Promise<string | undefined> {
    const body = teamsMessage(renderNotificationMessage(notification));
    return (await postHttp(this.target, this.config.url, body, { "content-type": "application/json" })).summary;
  }
}
