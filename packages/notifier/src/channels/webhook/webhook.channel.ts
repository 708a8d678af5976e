import type { Channel, Notification } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import type { WebhookChannelConfig } from "./webhook.config.js";
import { renderWebhookRequest } from "./webhook.template.js";
import { standardWebhookHeaders } from "./webhook-signature.js";

/**
 * The JSON a webhook receives without a body template: the alert itself when notified alone (as
 * before grouping), else the group: `{ id, route, group, alerts }`.
 */
export function webhookBody(notification: Notification): unknown {
  if (!notification.group) return notification.alerts[0];
  return {
    id: notification.id,
    route: notification.group.route,
    group: notification.group.labels,
    alerts: notification.alerts,
  };
}

/**
 * POSTs the notification as JSON ({@link webhookBody}, or the configured template's body), signed
 * per Standard Webhooks. Errors name the host only: the path and query of a webhook URL often carry a token.
 */
export class WebhookChannel implements Channel {
  readonly name: string;
  private readonly target: HttpTarget;

  constructor(
    private readonly config: WebhookChannelConfig,
    context: ChannelContext,
  ) {
    this.name = config.name;
    this.target = {
      channel: config.name,
      receiver: `webhook ${new URL(config.url).host}`,
      timeoutMs: config.timeout,
      limiter: channelLimiter(context, `webhook:${config.url}`, config.rateLimit),
    };
  }

  async send(notification: Notification, deliveryId: string): Promise<string | undefined> {
    const { body, headers: templated } = renderWebhookRequest(this.config, notification);
    const headers = new Headers({ ...this.config.headers, ...templated });
    if (!this.config.body || !headers.has("content-type")) headers.set("content-type", "application/json");
    headers.set("user-agent", "vigil-notifier");
    for (const [name, value] of Object.entries(standardWebhookHeaders(this.config.secret, deliveryId, body))) {
      headers.set(name, value);
    }
    return (await postHttp(this.target, this.config.url, body, headers)).summary;
  }
}
