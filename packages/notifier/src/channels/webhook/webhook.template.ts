import type { Alert } from "@vigil/core";
import Mustache from "mustache";
import { renderAlertMessage } from "../../render/alert-message.js";
import type { WebhookChannelConfig } from "./webhook.config.js";

/** What templates see: the alert's fields, and `message`, the rendered parts every channel shows. */
function webhookTemplateView(alert: Alert): Record<string, unknown> {
  return { ...alert, message: renderAlertMessage(alert) };
}

const text = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);

/** Escapes a value for the inside of a JSON string. */
const jsonEscape = (value: unknown): string => JSON.stringify(text(value)).slice(1, -1);
/** A header value is one line. */
const headerEscape = (value: unknown): string => text(value).replace(/[\r\n]+/g, " ");

/**
 * The request body and the configured headers, rendered for one alert: without a body template,
 * the alert as JSON; with one, the template with values JSON-escaped (or verbatim when the
 * configured `content-type` is not JSON).
 */
export function renderWebhookRequest(
  config: Pick<WebhookChannelConfig, "body" | "headers">,
  alert: Alert,
): { body: string; headers: Record<string, string> } {
  const view = webhookTemplateView(alert);
  const headers = Object.fromEntries(
    Object.entries(config.headers).map(([name, template]) => [
      name,
      headerEscape(Mustache.render(template, view, {}, { escape: headerEscape })),
    ]),
  );
  if (config.body === undefined) return { body: JSON.stringify(alert), headers };
  const contentType = Object.entries(headers).find(([name]) => name.toLowerCase() === "content-type")?.[1];
  const isJson = contentType === undefined || /json/i.test(contentType);
  return { body: Mustache.render(config.body, view, {}, { escape: isJson ? jsonEscape : text }), headers };
}
