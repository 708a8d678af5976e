import Mustache from "mustache";
import type { Alert } from "@vigil/core";
import type { Notification } from "../channel.js";

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
}

const TEXT_TEMPLATE = `[{{severityLabel}}] {{title}}

Rule:      {{ruleName}} ({{ruleId}})
Severity:  {{severity}}
{{#description}}
About:     {{description}}
{{/description}}
Group:     {{groupKeyText}}
Count:     {{count}}
Window:    {{windowStart}} to {{windowEnd}}
Tags:      {{tagsText}}
Alert id:  {{alertId}}
Raised at: {{createdAt}}

Events ({{eventCountText}}):
{{#events}}
- {{time}}  {{action}}  actor: {{actor}}  target: {{target}}  ip: {{ip}}  ({{id}})
{{/events}}
{{^events}}
(no event summary)
{{/events}}

Event ids:
{{#eventIds}}
- {{.}}
{{/eventIds}}
`;

const HTML_TEMPLATE = `<!doctype html>
<html>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; font-size: 14px; color: #1f2328;">
<h2 style="margin: 0 0 12px;"><span style="color: {{severityColor}};">[{{severityLabel}}]</span> {{title}}</h2>
{{#description}}<p>{{description}}</p>{{/description}}
<table cellpadding="4" cellspacing="0" style="border-collapse: collapse;">
<tr><th align="left">Rule</th><td>{{ruleName}} (<code>{{ruleId}}</code>)</td></tr>
<tr><th align="left">Severity</th><td>{{severity}}</td></tr>
<tr><th align="left">Group</th><td>{{#groupKey}}<code>{{name}}</code> = {{value}}<br>{{/groupKey}}{{^groupKey}}(none){{/groupKey}}</td></tr>
<tr><th align="left">Count</th><td>{{count}}</td></tr>
<tr><th align="left">Window</th><td>{{windowStart}} to {{windowEnd}}</td></tr>
<tr><th align="left">Tags</th><td>{{tagsText}}</td></tr>
<tr><th align="left">Alert id</th><td><code>{{alertId}}</code></td></tr>
<tr><th align="left">Raised at</th><td>{{createdAt}}</td></tr>
</table>
<h3>Events ({{eventCountText}})</h3>
{{#hasEvents}}
<table cellpadding="4" cellspacing="0" border="1" style="border-collapse: collapse; border-color: #d0d7de;">
<thead><tr><th>Time</th><th>Action</th><th>Actor</th><th>Target</th><th>IP</th><th>Event id</th></tr></thead>
<tbody>
{{#events}}
<tr><td>{{time}}</td><td>{{action}}</td><td>{{actor}}</td><td>{{target}}</td><td>{{ip}}</td><td><code>{{id}}</code></td></tr>
{{/events}}
</tbody>
</table>
{{/hasEvents}}
{{^hasEvents}}<p>(no event summary)</p>{{/hasEvents}}
<h3>Event ids</h3>
<ul>
{{#eventIds}}
<li><code>{{.}}</code></li>
{{/eventIds}}
</ul>
</body>
</html>
`;

const SEVERITY_COLORS = { low: "#57606a", medium: "#9a6700", high: "#cf222e", critical: "#82071e" } satisfies Record<
  Alert["severity"],
  string
>;

/** Renders an alert as an email: HTML-escaped in the HTML part, verbatim in the text part. */
export function renderAlertEmail(alert: Alert): AlertEmail {
  const view = alertView(alert);
  return {
    subject: `[${view.severityLabel}] ${oneLine(alert.title)}`,
    text: Mustache.render(TEXT_TEMPLATE, view, {}, { escape: (value: unknown) => String(value) }),
    html: Mustache.render(HTML_TEMPLATE, view),
  };
}

const SEVERITY_ORDER: readonly Alert["severity"][] = ["low", "medium", "high", "critical"];

/**
 * Renders a notification: one alert as {@link renderAlertEmail}; a group's alerts under one
 * subject naming the route, the group's values and how many alerts it carries, each alert in turn.
 */
export function renderNotificationEmail(notification: Notification): AlertEmail {
  const { alerts, group } = notification;
  if (!group && alerts.length === 1) return renderAlertEmail(alerts[0]);
  const severity = alerts
    .map((alert) => alert.severity)
    .reduce((a, b) => (SEVERITY_ORDER.indexOf(b) > SEVERITY_ORDER.indexOf(a) ? b : a));
  const labels = Object.entries(group?.labels ?? {})
    .map(([name, value]) => `${name}=${displayValue(value)}`)
    .join(", ");
  const heading = `${alerts.length} alert(s)${group ? ` for route ${group.route}` : ""}${labels ? ` (${labels})` : ""}`;
  const parts = alerts.map(renderAlertEmail);
  const inner = (html: string) => html.replace(/^[\s\S]*?<body[^>]*>/, "").replace(/<\/body>[\s\S]*$/, "");
  return {
    subject: oneLine(`[${severity.toUpperCase()}] ${heading}: ${alerts[0].title}`),
    text: `${heading}\n\n${parts.map((part) => part.text).join("\n----------------------------------------\n\n")}`,
    html: Mustache.render(GROUP_HTML_TEMPLATE, { heading, sections: parts.map((part) => inner(part.html)) }),
  };
}

const GROUP_HTML_TEMPLATE = `<!doctype html>
<html>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; font-size: 14px; color: #1f2328;">
<h1 style="font-size: 18px;">{{heading}}</h1>
{{#sections}}
<hr>
{{{.}}}
{{/sections}}
</body>
</html>
`;

function alertView(alert: Alert) {
  const groupKey = Object.entries(alert.groupKey).map(([name, value]) => ({ name, value: displayValue(value) }));
  const events = alert.events.map((event) => ({
    id: event.id,
    time: event.time,
    action: event.action,
    actor: event.actor ?? "-",
    target: event.target ?? "-",
    ip: event.ip ?? "-",
  }));
  return {
    alertId: alert.id,
    title: alert.title,
    description: alert.description,
    ruleId: alert.ruleId,
    ruleName: alert.ruleName,
    severity: alert.severity,
    severityLabel: alert.severity.toUpperCase(),
    severityColor: SEVERITY_COLORS[alert.severity],
    groupKey,
    groupKeyText: groupKey.length ? groupKey.map(({ name, value }) => `${name}=${value}`).join(", ") : "(none)",
    count: alert.count,
    windowStart: alert.windowStart,
    windowEnd: alert.windowEnd,
    tagsText: alert.tags.length ? alert.tags.join(", ") : "(none)",
    createdAt: alert.createdAt,
    events,
    hasEvents: events.length > 0,
    eventCountText: `${events.length} shown of ${alert.count}`,
    eventIds: alert.eventIds,
  };
}

function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "(empty)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Header values must not carry line breaks. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}
