import type { Alert } from "@vigil/core";
import type { Channel } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import type { WebhookChannelConfig } from "./webhook.config.js";
import { renderWebhookRequest } from "./webhook.template.js";
import { standardWebhookHeaders } from "./webhook-signature.js";

/**
 * POSTs the alert as JSON (or the configured template's body), signed per Standard Webhooks.
 * Errors name the host only: the path and query of a webhook URL often carry a token.
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

  async send(alert: Alert, deliveryId: string): Promise<void> {
    const { body, headers: templated } = renderWebhookRequest(this.config, alert);
    const headers = new Headers({ ...this.config.headers, ...templated });
    if (!this.config.body || !headers.has("content-type")) headers.set("content-type", "application/json");
    headers.set("user-agent", "vigil-notifier");
    for (const [name, value] of Object.entries(standardWebhookHeaders(this.config.secret, deliveryId, body))) {
      headers.set(name, value);
    }
    await postHttp(this.target, this.config.url, body, headers);
  }
}
