import Mustache from "mustache";
import type { Alert } from "@vigil/core";
import {
  alertFacts,
  alertMessageText,
  foldedEventIds,
  renderAlertMessage,
  SILENCE_FOR,
} from "../../render/alert-message.js";
import { renderNotificationMessage } from "../../render/notification-message.js";
import type { Notification } from "../channel.js";

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
}

// One column, at most 640 px wide, that wraps long words and commands: readable on a phone
// (390 px) without sideways scrolling, and in mail clients that ignore <style> blocks.
const HTML_TEMPLATE = `<!doctype html>
<html>
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{headline}}</title></head>
<body style="margin: 0; padding: 0; background: #f6f8fa;">
<div style="max-width: 640px; margin: 0 auto; padding: 16px; font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; font-size: 14px; line-height: 1.45; color: #1f2328; background: #ffffff; overflow-wrap: anywhere; word-break: break-word;">
<h2 style="margin: 0 0 8px; font-size: 18px;"><span style="color: {{severityColor}};">[{{severityLabel}}]</span> {{title}}</h2>
{{#description}}<p style="margin: 0 0 12px;">{{description}}</p>{{/description}}
<h3 style="margin: 16px 0 4px; font-size: 15px;">{{evidence.heading}}</h3>
<ul style="margin: 0; padding-left: 20px;">
{{#evidence.lines}}<li>{{.}}</li>
{{/evidence.lines}}
</ul>
<h3 style="margin: 16px 0 4px; font-size: 15px;">What to do next</h3>
{{#next.runbook}}<p style="margin: 0 0 8px;">Runbook: <a href="{{next.runbook}}">{{next.runbook}}</a></p>{{/next.runbook}}
<p style="margin: 0 0 4px;">Silence this group for {{silenceFor}}:</p>
<pre style="margin: 0 0 8px; padding: 8px; background: #f6f8fa; white-space: pre-wrap; word-break: break-all; font-size: 12px;">{{next.silence}}</pre>
<p style="margin: 0 0 4px;">The full alert and its deliveries:</p>
<pre style="margin: 0 0 8px; padding: 8px; background: #f6f8fa; white-space: pre-wrap; word-break: break-all; font-size: 12px;">{{next.show}}</pre>
<h3 style="margin: 16px 0 4px; font-size: 15px;">Details</h3>
<table role="presentation" cellpadding="0" cellspacing="0" style="width: 100%; border-collapse: collapse; table-layout: fixed;">
{{#facts}}<tr><th align="left" valign="top" style="width: 84px; padding: 2px 8px 2px 0; font-weight: 600;">{{label}}</th><td style="padding: 2px 0;">{{value}}</td></tr>
{{/facts}}
</table>
{{#hasEvents}}
<h3 style="margin: 16px 0 4px; font-size: 15px;">First events</h3>
<ul style="margin: 0; padding-left: 20px;">
{{#events}}<li>{{.}}</li>
{{/events}}
</ul>
{{/hasEvents}}
{{^hasEvents}}<p>(no event summary)</p>{{/hasEvents}}
{{#providerLinks.length}}
<p style="margin: 12px 0 0;">{{#providerLinks}}<a href="{{url}}">{{text}}</a><br>{{/providerLinks}}</p>
{{/providerLinks.length}}
<details style="margin-top: 12px;"><summary>Event ids</summary><p style="margin: 4px 0; font-family: monospace; font-size: 12px;">{{eventIdsText}}</p></details>
</div>
</body>
</html>
`;

const SEVERITY_COLORS = { low: "#57606a", medium: "#9a6700", high: "#cf222e", critical: "#82071e" } satisfies Record<
  Alert["severity"],
  string
>;

/**
 * Renders an alert as an email from the shared message. The HTML part escapes HTML; the text part
 * shows the title and every event value as quoted data on one line (core's `quoteUntrusted`), so a
 * value cannot add lines that read as Vigil's own; the subject is the title on one line, cut likewise.
 */
export function renderAlertEmail(alert: Alert): AlertEmail {
  const message = renderAlertMessage(alert);
  const text = alertMessageText(renderAlertMessage(alert, { quote: true }));
  const view = {
    ...message,
    severityLabel: message.severity.toUpperCase(),
    severityColor: SEVERITY_COLORS[message.severity],
    silenceFor: SILENCE_FOR,
    facts: alertFacts(message),
    hasEvents: message.events.length > 0,
    providerLinks: message.links.filter((link) => link.text !== "Runbook"),
    eventIdsText: foldedEventIds(message),
  };
  return {
    subject: message.headline,
    text: message.events.length ? text : `${text}(no event summary)\n`,
    html: Mustache.render(HTML_TEMPLATE, view),
  };
}

/**
 * Renders a notification: one alert as {@link renderAlertEmail}; a group's alerts under one
 * subject naming the route, the group's values and how many alerts it carries, each alert in turn.
 */
export function renderNotificationEmail(notification: Notification): AlertEmail {
  const { alerts } = notification;
  const message = renderNotificationMessage(notification);
  if (message.heading === undefined) return renderAlertEmail(alerts[0]);
  const parts = alerts.map(renderAlertEmail);
  const inner = (html: string) => html.replace(/^[\s\S]*?<body[^>]*>/, "").replace(/<\/body>[\s\S]*$/, "");
  return {
    subject: message.headline,
    text: `${message.heading}\n\n${parts.map((part) => part.text).join("\n----------------------------------------\n\n")}`,
    html: Mustache.render(GROUP_HTML_TEMPLATE, {
      headline: message.headline,
      heading: message.heading,
      sections: parts.map((part) => inner(part.html)),
    }),
  };
}

const GROUP_HTML_TEMPLATE = `<!doctype html>
<html>
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{headline}}</title></head>
<body style="margin: 0; padding: 0; background: #f6f8fa;">
<h1 style="max-width: 640px; margin: 0 auto; padding: 16px 16px 0; font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; font-size: 18px; color: #1f2328; overflow-wrap: anywhere;">{{heading}}</h1>
{{#sections}}
<hr style="max-width: 640px; margin: 16px auto;">
{{{.}}}
{{/sections}}
</body>
</html>
`;
