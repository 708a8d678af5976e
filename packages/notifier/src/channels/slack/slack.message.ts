import { clip } from "../http-delivery.js";
import { alertFacts, foldedEventIds, type AlertMessage, SILENCE_FOR } from "../../render/alert-message.js";
import type { NotificationMessage } from "../../render/notification-message.js";

/** Block Kit's documented limits this layout keeps to (api.slack.com/reference/block-kit). */
const LIMITS = { header: 150, section: 3_000, field: 2_000, fields: 10, button: 75, url: 3_000, text: 3_000 };

/** Slack's mrkdwn needs only these three escaped. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

const mrkdwn = (text: string, max = LIMITS.section) => ({ type: "mrkdwn", text: clip(text, max) });
const section = (text: string) => ({ type: "section", text: mrkdwn(text) });

/** The Slack message of an alert: Block Kit blocks (9 at most) and the notification's fallback text. */
function slackMessage(message: AlertMessage): { text: string; blocks: Record<string, unknown>[] } {
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: clip(message.headline, LIMITS.header) } },
    section(
      `*${escapeMrkdwn(message.evidence.heading)}*\n${message.evidence.lines.map((line) => `• ${escapeMrkdwn(line)}`).join("\n")}`,
    ),
  ];
  if (message.description) blocks.push(section(escapeMrkdwn(message.description)));
  blocks.push({
    type: "section",
    fields: alertFacts(message)
      .slice(0, LIMITS.fields)
      .map(({ label, value }) => mrkdwn(`*${label}*\n${escapeMrkdwn(value)}`, LIMITS.field)),
  });
  const next = [
    "*What to do next*",
    ...(message.next.runbook ? [`Runbook: <${message.next.runbook}|${escapeMrkdwn(message.next.runbook)}>`] : []),
    `Silence this group for ${SILENCE_FOR}:`,
    `\`\`\`${escapeMrkdwn(message.next.silence)}\`\`\``,
    `Full alert: \`${escapeMrkdwn(message.next.show)}\``,
  ];
  blocks.push(section(next.join("\n")));
  if (message.events.length)
    blocks.push(section(`*First events*\n${message.events.map((line) => `• ${escapeMrkdwn(line)}`).join("\n")}`));
  if (message.links.some((link) => link.url.length <= LIMITS.url))
    blocks.push({
      type: "actions",
      elements: message.links
        .filter((link) => link.url.length <= LIMITS.url)
        .slice(0, 5)
        .map((link, i) => ({
          type: "button",
          action_id: `link-${i}`,
          text: { type: "plain_text", text: clip(link.text, LIMITS.button) },
          url: link.url,
        })),
    });
  blocks.push({ type: "context", elements: [mrkdwn(`Event ids: ${escapeMrkdwn(foldedEventIds(message))}`)] });
  return { text: clip(message.headline, LIMITS.text), blocks };
}

/** How many of a group's alerts one message shows, each as one section (the rest are counted). */
const SLACK_GROUP_ALERTS_SHOWN = 20;
/** Evidence lines shown per alert of a group. */
const GROUP_EVIDENCE_LINES = 3;

/**
 * The Slack message of a notification: a lone alert's {@link slackMessage}; a group's heading, one
 * section per alert (its evidence first, then how to see it all), and how to silence the group.
 * At most 24 blocks, within Block Kit's 50.
 */
export function slackNotificationMessage(message: NotificationMessage): {
  text: string;
  blocks: Record<string, unknown>[];
} {
  const [first] = message.alerts;
  if (message.heading === undefined) return slackMessage(first);
  const shown = message.alerts.slice(0, SLACK_GROUP_ALERTS_SHOWN);
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: clip(message.headline, LIMITS.header) } },
    ...shown.map((alert) =>
      section(
        [
          `*${escapeMrkdwn(alert.headline)}*`,
          `_${escapeMrkdwn(alert.evidence.heading)}_`,
          ...alert.evidence.lines.slice(0, GROUP_EVIDENCE_LINES).map((line) => `• ${escapeMrkdwn(line)}`),
          ...(alert.evidence.lines.length > GROUP_EVIDENCE_LINES
            ? [`• … ${alert.evidence.lines.length - GROUP_EVIDENCE_LINES} more`]
            : []),
          `Window: ${escapeMrkdwn(alert.window)}`,
          `\`${escapeMrkdwn(alert.next.show)}\``,
        ].join("\n"),
      ),
    ),
  ];
  if (message.alerts.length > shown.length)
    blocks.push({
      type: "context",
      elements: [mrkdwn(`${message.alerts.length - shown.length} more alert(s) in this group: \`vigil alerts list\``)],
    });
  blocks.push(
    section(
      [
        "*What to do next*",
        ...(first.next.runbook ? [`Runbook: <${first.next.runbook}|${escapeMrkdwn(first.next.runbook)}>`] : []),
        `Silence the first alert's group for ${SILENCE_FOR}:`,
        `\`\`\`${escapeMrkdwn(first.next.silence)}\`\`\``,
      ].join("\n"),
    ),
  );
  return { text: clip(message.headline, LIMITS.text), blocks };
}
