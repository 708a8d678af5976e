import type { Channel, Notification } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import type { PagerDutyChannelConfig } from "./pagerduty.config.js";
import { pagerDutyEvent } from "./pagerduty.event.js";

/**
 * Triggers a PagerDuty alert per Vigil alert (Events API v2); the routing key never reaches an
 * error. A group's notification sends one `trigger` per alert, in order: each alert's id is its
 * `dedup_key`, so a retry after a partial failure folds into the incidents already opened.
 */
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

  async send(notification: Notification): Promise<string | undefined> {
    const answers: string[] = [];
    for (const alert of notification.alerts) {
      const event = pagerDutyEvent(alert, this.config.routingKey, this.config.source);
      const answer = await postHttp(this.target, this.config.url, JSON.stringify(event), {
        "content-type": "application/json",
      });
      answers.push(answer.summary);
    }
    return answers.length === 1 ? answers[0] : `${answers.length} events: ${[...new Set(answers)].join(", ")}`;
  }
}
