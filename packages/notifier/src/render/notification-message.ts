import { type Alert, oneLineUntrusted } from "@vigil/core";
import type { Notification } from "../channels/channel.js";
import { type AlertMessage, type RenderOptions, renderAlertMessage } from "./alert-message.js";

const SEVERITY_ORDER: readonly Alert["severity"][] = ["low", "medium", "high", "critical"];

/**
 * What a responder sees of one notification: one alert, or the alerts a route's group gathered.
 * Every channel lays out a group as one message: a heading naming the route, the group's values
 * and how many alerts it carries, then each alert (oldest first) as {@link renderAlertMessage}.
 */
export interface NotificationMessage {
  id: string;
  /** The highest severity among the alerts. */
  severity: Alert["severity"];
  /** `[CRITICAL] 3 alert(s) for route slack (actor.email=eve@example.com): <first title>`; a lone alert's own headline. */
  headline: string;
  /** `3 alert(s) for route slack (actor.email=eve@example.com)`; undefined for a lone alert. */
  heading: string | undefined;
  alerts: [AlertMessage, ...AlertMessage[]];
}

export function renderNotificationMessage(
  notification: Notification,
  options: RenderOptions = {},
): NotificationMessage {
  const { alerts, group } = notification;
  const [first, ...rest] = alerts.map((alert) => renderAlertMessage(alert, options)) as [
    AlertMessage,
    ...AlertMessage[],
  ];
  if (!group && alerts.length === 1)
    return {
      id: notification.id,
      severity: first.severity,
      headline: first.headline,
      heading: undefined,
      alerts: [first],
    };
  const severity = alerts
    .map((alert) => alert.severity)
    .reduce((a, b) => (SEVERITY_ORDER.indexOf(b) > SEVERITY_ORDER.indexOf(a) ? b : a));
  const labels = Object.entries(group?.labels ?? {})
    .map(([name, value]) => oneLineUntrusted(`${name}=${typeof value === "string" ? value : JSON.stringify(value)}`))
    .join(", ");
  const heading = `${alerts.length} alert(s)${group ? ` for route ${group.route}` : ""}${labels ? ` (${labels})` : ""}`;
  return {
    id: notification.id,
    severity,
    headline: `[${severity.toUpperCase()}] ${heading}: ${oneLineUntrusted(alerts[0].title)}`,
    heading,
    alerts: [first, ...rest],
  };
}
