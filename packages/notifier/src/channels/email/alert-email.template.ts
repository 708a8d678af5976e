import Mustache from "mustache";
import { MAX_DISPLAYED_VALUE_CHARS, oneLineUntrusted, quoteUntrusted, type Alert } from "@vigil/core";
import type { Notification } from "../channel.js";

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
}

const TEXT_TEMPLATE = `[{{severityLabel}}] {{text.title}}

Values in double quotes are event data as received: on one line, control characters escaped, cut at {{text.maxChars}} characters.

Rule:      {{ruleName}} ({{ruleId}})
Severity:  {{severity}}
{{#description}}
About:     {{description}}
{{/description}}
Group:     {{text.groupKey}}
Count:     {{count}}
Window:    {{windowStart}} to {{windowEnd}}
Tags:      {{tagsText}}
Alert id:  {{alertId}}
Raised at: {{createdAt}}
{{#text.evidence}}

Evidence ({{kind}}):
{{#lines}}
  {{name}}: {{value}}
{{/lines}}
{{/text.evidence}}

Events ({{eventCountText}}):
{{#text.events}}
- {{time}}  {{action}}  actor: {{actor}}  target: {{target}}  ip: {{ip}}  id: {{id}}
{{/text.events}}
{{^text.events}}
(no event summary)
{{/text.events}}

Event ids:
{{#text.eventIds}}
- {{.}}
{{/text.eventIds}}
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
{{#evidence}}
<h3>Evidence ({{kind}})</h3>
<table cellpadding="4" cellspacing="0" style="border-collapse: collapse;">
{{#lines}}
<tr><th align="left">{{name}}</th><td>{{value}}</td></tr>
{{/lines}}
</table>
{{/evidence}}
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

/**
 * Renders an alert as an email. The HTML part escapes HTML; the text part shows the title and
 * every event value as quoted data on one line (see {@link textView}), so a value cannot add
 * lines that read as Vigil's own; the subject is the title on one line, cut likewise.
 */
export function renderAlertEmail(alert: Alert): AlertEmail {
  const view = alertView(alert);
  return {
    subject: `[${view.severityLabel}] ${oneLineUntrusted(alert.title)}`,
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
    subject: `[${severity.toUpperCase()}] ${heading}: ${oneLineUntrusted(alerts[0].title)}`,
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
    count: alert.count,
    windowStart: alert.windowStart,
    windowEnd: alert.windowEnd,
    tagsText: alert.tags.length ? alert.tags.join(", ") : "(none)",
    createdAt: alert.createdAt,
    events,
    hasEvents: events.length > 0,
    eventCountText: `${events.length} shown of ${alert.count}`,
    eventIds: alert.eventIds,
    evidence: alert.evidence ? { kind: alert.evidence.kind, lines: evidenceLines(alert.evidence) } : undefined,
    text: textView(alert),
  };
}

/** What the text part shows of event data (titles carry event values too): quoted, one line, cut. */
function textView(alert: Alert) {
  const orDash = (value: string | undefined) => (value === undefined ? "-" : quoteUntrusted(value));
  const groupKey = Object.entries(alert.groupKey).map(
    ([name, value]) => `${oneLineUntrusted(name)}=${quoteUntrusted(displayValue(value))}`,
  );
  return {
    maxChars: MAX_DISPLAYED_VALUE_CHARS,
    title: quoteUntrusted(alert.title),
    groupKey: groupKey.length ? groupKey.join(", ") : "(none)",
    events: alert.events.map((event) => ({
      id: quoteUntrusted(event.id),
      time: oneLineUntrusted(event.time),
      action: quoteUntrusted(event.action),
      actor: orDash(event.actor),
      target: orDash(event.target),
      ip: orDash(event.ip),
    })),
    eventIds: alert.eventIds.map((id) => quoteUntrusted(id)),
    evidence: alert.evidence
      ? {
          kind: oneLineUntrusted(alert.evidence.kind),
          lines: evidenceLines(alert.evidence).map(({ name, value }) => ({
            name: oneLineUntrusted(name),
            value: quoteUntrusted(value),
          })),
        }
      : undefined,
  };
}

/**
 * A kind's evidence as name/value lines, whatever its kind: one line per field, and one per item
 * of a list of objects (a sequence's steps), each object written as `key=value` pairs.
 */
function evidenceLines({ kind: _kind, ...fields }: NonNullable<Alert["evidence"]>): { name: string; value: string }[] {
  return Object.entries(fields).flatMap(([name, value]) =>
    Array.isArray(value) && value.some(isRecord)
      ? value.map((item, i) => ({ name: `${name} ${i + 1}`, value: inlineValue(item) }))
      : [{ name, value: inlineValue(value) }],
  );
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function inlineValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(displayValue).join(", ");
  if (isRecord(value))
    return Object.entries(value)
      .map(([key, item]) => `${key}=${Array.isArray(item) ? item.map(displayValue).join(", ") : displayValue(item)}`)
      .join("  ");
  return displayValue(value);
}

function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "(empty)";
  return typeof value === "string" ? value : JSON.stringify(value);
}
