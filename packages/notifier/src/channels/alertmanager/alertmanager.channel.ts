import type { Channel, Notification } from "../channel.js";
import { type HttpTarget, postHttp } from "../http-delivery.js";
import { alertmanagerAlert } from "./alertmanager.alert.js";
import type { AlertmanagerChannelConfig } from "./alertmanager.config.js";

/**
 * POSTs a notification's alerts to an Alertmanager (`/api/v2/alerts`, one request with every alert
 * of a group); its own routing, grouping and receivers take it from there.
 */
export class AlertmanagerChannel implements Channel {
  readonly name: string;
  private readonly target: HttpTarget;
  private readonly endpoint: string;

  constructor(private readonly config: AlertmanagerChannelConfig) {
    this.name = config.name;
    this.endpoint = `${config.url.replace(/\/+$/, "")}/api/v2/alerts`;
    this.target = {
      channel: config.name,
      receiver: `Alertmanager ${new URL(config.url).host}`,
      timeoutMs: config.timeout,
    };
  }

  async send(notification: Notification): Promise<string | undefined> {
    const body = JSON.stringify(notification.alerts.map((alert) => alertmanagerAlert(alert, this.config.resolveAfter)));
    const answer = await postHttp(this.target, this.endpoint, body, {
      ...this.config.headers,
      "content-type": "application/json",
    });
    return answer.summary;
  }
}
