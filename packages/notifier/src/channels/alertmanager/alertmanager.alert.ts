import type { Alert } from "@vigil/core";
import { alertMessageText, renderAlertMessage } from "../../render/alert-message.js";

/** A Prometheus label name: `actor.email` becomes `actor_email`. */
function labelName(field: string): string {
  const name = field.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}

const labelValue = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);

/**
 * An alert as Alertmanager's API v2 takes it (`postableAlert`): labels say what it is (rule,
 * severity, provider, group values), annotations what a responder reads; it starts when Vigil
 * raised it and resolves `resolveAfterMs` later.
 */
export function alertmanagerAlert(alert: Alert, resolveAfterMs: number) {
  const message = renderAlertMessage(alert);
  const startsAt = new Date(alert.createdAt);
  const groupLabels = Object.fromEntries(
    Object.entries(alert.groupKey).map(([field, value]) => [labelName(field), labelValue(value)]),
  );
  return {
    labels: {
      ...groupLabels,
      alertname: alert.ruleName,
      rule: alert.ruleId,
      severity: alert.severity,
      ...(alert.provider ? { provider: alert.provider } : {}),
      vigil_alert_id: alert.id,
    },
    annotations: {
      title: message.title,
      ...(message.description ? { description: message.description } : {}),
      evidence: [message.evidence.heading, ...message.evidence.lines].join("\n"),
      ...(message.next.runbook ? { runbook_url: message.next.runbook } : {}),
      silence: message.next.silence,
      show: message.next.show,
      summary: alertMessageText(message),
    },
    startsAt: startsAt.toISOString(),
    endsAt: new Date(startsAt.getTime() + resolveAfterMs).toISOString(),
  };
}
