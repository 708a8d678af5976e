import Mustache from "mustache";
import { renderAlertMessage } from "../../render/alert-message.js";
import type { Notification } from "../channel.js";
import { webhookBody } from "./webhook.channel.js";
import type { WebhookChannelConfig } from "./webhook.config.js";

/**
 * What templates see: the first alert's fields at the top level (all a one-alert notification
 * has) with `message`, the rendered parts every channel shows; and the notification: `notification`
 * (`id`, `route`, `group`, `size`: how many alerts it carries) and `alerts` (each alert with its `message`).
 */
function webhookTemplateView({ id, alerts, group }: Notification): Record<string, unknown> {
  return {
    ...alerts[0],
    message: renderAlertMessage(alerts[0]),
    notification: { id, route: group?.route, group: group?.labels ?? {}, size: alerts.length },
    alerts: alerts.map((alert) => ({ ...alert, message: renderAlertMessage(alert) })),
  };
}

const text = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);

/** Escapes a value for the inside of a JSON string. */
const jsonEscape = (value: unknown): string => JSON.stringify(text(value)).slice(1, -1);
/** A header value is one line. */
const headerEscape = (value: unknown): string => text(value).replace(/[\r\n]+/g, " ");

/**
 * The request body and the configured headers, rendered for one notification: without a body
 * template, {@link webhookBody} as JSON; with one, the template with values JSON-escaped (or verbatim when the
 * configured `content-type` is not JSON).
 */
export function renderWebhookRequest(
  config: Pick<WebhookChannelConfig, "body" | "headers">,
  notification: Notification,
): { body: string; headers: Record<string, string> } {
  const view = webhookTemplateView(notification);
  const headers = Object.fromEntries(
    Object.entries(config.headers).map(([name, template]) => [
      name,
      headerEscape(Mustache.render(template, view, {}, { escape: headerEscape })),
    ]),
  );
  if (config.body === undefined) return { body: JSON.stringify(webhookBody(notification)), headers };
  const contentType = Object.entries(headers).find(([name]) => name.toLowerCase() === "content-type")?.[1];
  const isJson = contentType === undefined || /json/i.test(contentType);
  return { body: Mustache.render(config.body, view, {}, { escape: isJson ? jsonEscape : text }), headers };
}
