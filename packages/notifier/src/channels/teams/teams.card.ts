import { clip } from "../http-delivery.js";
import { alertFacts, foldedEventIds, type AlertMessage, SILENCE_FOR } from "../../render/alert-message.js";
import type { NotificationMessage } from "../../render/notification-message.js";

/** Teams refuses a message larger than 28 KB (learn.microsoft.com, "Create an Incoming Webhook": message size limit). */
export const TEAMS_MAX_MESSAGE_BYTES = 28 * 1024;

const SEVERITY_COLORS = { low: "Default", medium: "Warning", high: "Attention", critical: "Attention" } as const;

const text = (value: string, extra: Record<string, unknown> = {}) => ({
  type: "TextBlock",
  text: value,
  wrap: true,
  ...extra,
});

/**
 * Adaptive Card texts render a subset of Markdown; audit-log values must not become links, so
 * their brackets are escaped (CommonMark backslash escapes). Other Markdown is left alone.
 */
function plain(value: string): string {
  return value.replace(/([[\]])/g, "\\$1");
}

/** One alert's part of a card; `compact` keeps its title, evidence heading and `vigil alerts show` only. */
function alertBody(message: AlertMessage, maxText: number, withEvents: boolean, compact: boolean) {
  const cut = (value: string) => plain(clip(value, maxText));
  const title = text(`${message.severity.toUpperCase()} · ${cut(message.title)}`, {
    size: "Large",
    weight: "Bolder",
    color: SEVERITY_COLORS[message.severity],
  });
  if (compact)
    return [
      title,
      text(cut(message.evidence.heading), { spacing: "None" }),
      text(clip(message.next.show, maxText), { fontType: "Monospace", spacing: "None" }),
    ];
  const body: Record<string, unknown>[] = [
    title,
    ...(message.description ? [text(cut(message.description))] : []),
    text(cut(message.evidence.heading), { weight: "Bolder", spacing: "Medium" }),
    ...message.evidence.lines.map((line) => text(`- ${cut(line)}`, { spacing: "None" })),
    text("What to do next", { weight: "Bolder", spacing: "Medium" }),
    ...(message.next.runbook ? [text(`Runbook: [${cut(message.next.runbook)}](${message.next.runbook})`)] : []),
    text(`Silence this group for ${SILENCE_FOR}:`),
    text(clip(message.next.silence, maxText), { fontType: "Monospace", spacing: "None" }),
    text("The full alert and its deliveries:"),
    text(clip(message.next.show, maxText), { fontType: "Monospace", spacing: "None" }),
    {
      type: "FactSet",
      spacing: "Medium",
      facts: alertFacts(message).map(({ label, value }) => ({ title: label, value: cut(value) })),
    },
  ];
  if (withEvents && message.events.length) {
    body.push(text("First events", { weight: "Bolder", spacing: "Medium" }));
    body.push(...message.events.map((line) => text(`- ${cut(line)}`, { spacing: "None" })));
  }
  body.push(text(`Event ids: ${cut(foldedEventIds(message))}`, { isSubtle: true, size: "Small" }));
  return body;
}

/** A card of the notification: a lone alert's parts; a group's heading, then each alert in a container of its own. */
function card(message: NotificationMessage, maxText: number, withEvents: boolean, compact: boolean) {
  const [first] = message.alerts;
  const body: Record<string, unknown>[] =
    message.heading === undefined
      ? alertBody(first, maxText, withEvents, compact)
      : [
          text(plain(clip(message.headline, maxText)), {
            size: "Large",
            weight: "Bolder",
            color: SEVERITY_COLORS[message.severity],
          }),
          ...message.alerts.map((alert) => ({
            type: "Container",
            separator: true,
            spacing: "Medium",
            items: alertBody(alert, maxText, withEvents, compact),
          })),
        ];
  const links = message.alerts.flatMap((alert) => alert.links);
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          msteams: { width: "Full" },
          body,
          actions: links
            .slice(0, MAX_ACTIONS)
            .map((link) => ({ type: "Action.OpenUrl", title: clip(link.text, 80), url: link.url })),
        },
      },
    ],
  };
}

/** Cards show a handful of buttons; a group's first links are enough. */
const MAX_ACTIONS = 6;

/**
 * The Teams message of a notification: one Adaptive Card, within Teams' 28 KB. A card that would
 * be larger loses its event lists, then has its texts cut shorter, then shows each alert of a
 * group compactly, then only as many of a group's alerts as fit (saying how many more there are).
 */
export function teamsMessage(message: NotificationMessage): string {
  for (const [maxText, withEvents, compact] of [
    [2_000, true, false],
    [2_000, false, false],
    [500, false, false],
    [120, false, false],
    [120, false, true],
  ] as const) {
    const body = JSON.stringify(card(message, maxText, withEvents, compact));
    if (Buffer.byteLength(body) <= TEAMS_MAX_MESSAGE_BYTES) return body;
  }
  for (let shown = message.alerts.length - 1; shown >= 1; shown--) {
    const alerts = message.alerts.slice(0, shown) as NotificationMessage["alerts"];
    const heading = `${message.heading} (${message.alerts.length - shown} more: vigil alerts list)`;
    const body = JSON.stringify(
      card(
        {
          ...message,
          heading,
          headline: `${message.headline} · ${message.alerts.length - shown} more in vigil alerts list`,
          alerts,
        },
        120,
        false,
        true,
      ),
    );
    if (Buffer.byteLength(body) <= TEAMS_MAX_MESSAGE_BYTES) return body;
  }
  // Only a rule with hundreds of evidence lines gets here; Teams' refusal then names the size.
  return JSON.stringify(card(message, 60, false, true));
}
