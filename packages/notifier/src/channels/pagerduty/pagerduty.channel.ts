import type { Alert } from "@vigil/core";
import type { Channel } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import type { PagerDutyChannelConfig } from "./pagerduty.config.js";
import { pagerDutyEvent } from "./pagerduty.event.js";

/** Triggers a PagerDuty alert per Vigil alert (Events API v2); the routing key never reaches an error. */
export class PagerDutyChannel implements Channel {
  readonly name: string;
  private readonly target: HttpTarget;

  constructor(
    private readonly config: PagerDutyChannelConfig,
    context: ChannelContext,
  ) {
    this.name = config.name;
    this.target = {
      channel: config.name,
      receiver: `PagerDuty ${new URL(config.url).host}`,
      timeoutMs: config.timeout,
      limiter: channelLimiter(context, `pagerduty:${config.routingKey}`, config.rateLimit),
    };
  }

  async send(alert: Alert): Promise<void> {
    const event = pagerDutyEvent(alert, this.config.routingKey, this.config.source);
    await postHttp(this.target, this.config.url, JSON.stringify(event), { "content-type": "application/json" });
  }
}
