import type { Alert } from "@vigil/core";
import { clip } from "../http-delivery.js";
import { alertFacts, foldedEventIds, type AlertMessage, renderAlertMessage } from "../../render/alert-message.js";

/** The Events API v2 limits this event keeps to (developer.pagerduty.com, "Send an Alert Event"). */
const PAGERDUTY_LIMITS = { summary: 1024, dedupKey: 255 } as const;

/** Vigil's four severities onto PagerDuty's four. */
const PAGERDUTY_SEVERITIES = {
  critical: "critical",
  high: "error",
  medium: "warning",
  low: "info",
} as const satisfies Record<Alert["severity"], string>;

/** The `trigger` event of an alert: its id is the `dedup_key`, so PagerDuty folds a redelivery into the same incident. */
export function pagerDutyEvent(alert: Alert, routingKey: string, source: string) {
  const message: AlertMessage = renderAlertMessage(alert);
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: clip(alert.id, PAGERDUTY_LIMITS.dedupKey),
    payload: {
      summary: clip(message.headline, PAGERDUTY_LIMITS.summary),
      source,
      severity: PAGERDUTY_SEVERITIES[alert.severity],
      timestamp: alert.createdAt,
      ...(alert.provider ? { component: alert.provider } : {}),
      group: alert.ruleId,
      class: alert.kind ?? "vigil",
      custom_details: {
        ...(message.description ? { description: message.description } : {}),
        evidence: [message.evidence.heading, ...message.evidence.lines],
        ...Object.fromEntries(alertFacts(message).map(({ label, value }) => [label.toLowerCase(), value])),
        group_values: alert.groupKey,
        ...(message.next.runbook ? { runbook: message.next.runbook } : {}),
        silence: message.next.silence,
        show: message.next.show,
        first_events: message.events,
        event_ids: foldedEventIds(message),
      },
    },
    client: "Vigil",
    links: message.links.map((link) => ({ href: link.url, text: link.text })),
  };
}
