import type { Alert } from "@vigil/core";
import type { Channel } from "../channel.js";
import { type HttpTarget, postHttp } from "../http-delivery.js";
import { alertmanagerAlert } from "./alertmanager.alert.js";
import type { AlertmanagerChannelConfig } from "./alertmanager.config.js";

/** POSTs each alert to an Alertmanager (`/api/v2/alerts`); its own routing, grouping and receivers take it from there. */
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

  async send(alert: Alert): Promise<void> {
    const body = JSON.stringify([alertmanagerAlert(alert, this.config.resolveAfter)]);
    await postHttp(this.target, this.endpoint, body, { ...this.config.headers, "content-type": "application/json" });
  }
}
