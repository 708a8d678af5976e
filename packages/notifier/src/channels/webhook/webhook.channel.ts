import { DeliveryError } from "@vigil/core";
import type { Channel, Notification } from "../channel.js";
import type { WebhookChannelConfig } from "./webhook.config.js";
import { standardWebhookHeaders } from "./webhook-signature.js";

/** Client errors a retry can cure: the receiver timed out, or asked us to slow down. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 429]);

/**
 * The JSON a webhook receives: the alert itself when notified alone (as before grouping), else the
 * group: `{ id, route, group, alerts }`.
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
 * POSTs the notification as JSON ({@link webhookBody}), signed per Standard Webhooks. Errors name the channel and the
 * host only: the path and query of a webhook URL often carry a token.
 */
export class WebhookChannel implements Channel {
  readonly name: string;
  private readonly host: string;

  constructor(private readonly config: WebhookChannelConfig) {
    this.name = config.name;
    this.host = new URL(config.url).host;
  }

  async send(notification: Notification, deliveryId: string): Promise<string | undefined> {
    const body = JSON.stringify(webhookBody(notification));
    const headers = new Headers(this.config.headers);
    headers.set("content-type", "application/json");
    headers.set("user-agent", "vigil-notifier");
    for (const [name, value] of Object.entries(standardWebhookHeaders(this.config.secret, deliveryId, body))) {
      headers.set(name, value);
    }

    let response: Response;
    let answer: string;
    try {
      response = await fetch(this.config.url, {
        method: "POST",
        headers,
        body,
        // A POST must not turn into a GET elsewhere; a redirect is reported, not followed.
        redirect: "manual",
        signal: AbortSignal.timeout(this.config.timeout),
      });
      answer = await response.text();
    } catch (err) {
      throw new DeliveryError(this.name, this.describeFailure(err), false, { cause: err });
    }

    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    if (response.ok) return status;
    const excerpt = answer.trim() ? `: ${answer.replace(/\s+/g, " ").trim().slice(0, 200)}` : "";
    const permanent =
      response.status >= 400 && response.status < 500 && !RETRYABLE_CLIENT_STATUSES.has(response.status);
    throw new DeliveryError(this.name, `webhook ${this.host} answered ${status}${excerpt}`, permanent);
  }

  private describeFailure(err: unknown): string {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      return `webhook ${this.host} did not answer within ${this.config.timeout}ms`;
    }
    // fetch reports "fetch failed" and puts the socket error (ECONNREFUSED, ENOTFOUND, ...) in `cause`.
    const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
    const code = typeof cause?.code === "string" ? cause.code : err instanceof Error ? err.message : String(err);
    return `webhook ${this.host} unreachable (${code})`;
  }
}
