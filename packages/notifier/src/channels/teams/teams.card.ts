import { clip } from "../http-delivery.js";
import { alertFacts, foldedEventIds, type AlertMessage, SILENCE_FOR } from "../../render/alert-message.js";

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

function card(message: AlertMessage, maxText: number, withEvents: boolean) {
  const cut = (value: string) => plain(clip(value, maxText));
  const body: Record<string, unknown>[] = [
    text(`${message.severity.toUpperCase()} · ${cut(message.title)}`, {
      size: "Large",
      weight: "Bolder",
      color: SEVERITY_COLORS[message.severity],
    }),
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
          actions: message.links.map((link) => ({ type: "Action.OpenUrl", title: clip(link.text, 80), url: link.url })),
        },
      },
    ],
  };
}

/**
 * The Teams message of an alert: one Adaptive Card, within Teams' 28 KB. A card that would be
 * larger loses its event list, then has its texts cut shorter until it fits.
 */
export function teamsMessage(message: AlertMessage): string {
  for (const [maxText, withEvents] of [
    [2_000, true],
    [2_000, false],
    [500, false],
    [120, false],
  ] as const) {
    const body = JSON.stringify(card(message, maxText, withEvents));
    if (Buffer.byteLength(body) <= TEAMS_MAX_MESSAGE_BYTES) return body;
  }
  // Only a rule with hundreds of evidence lines gets here; Teams' refusal then names the size.
  return JSON.stringify(card(message, 60, false));
}
