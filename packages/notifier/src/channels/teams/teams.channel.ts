import type { Alert } from "@vigil/core";
import type { Channel } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import { renderAlertMessage } from "../../render/alert-message.js";
import { teamsMessage } from "./teams.card.js";
import type { TeamsChannelConfig } from "./teams.config.js";

/** Posts an alert as an Adaptive Card to a Teams Workflows webhook. Errors name the host only. */
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

  async send(alert: Alert): Promise<void> {
    const body = teamsMessage(renderAlertMessage(alert));
    await postHttp(this.target, this.config.url, body, { "content-type": "application/json" });
  }
}
