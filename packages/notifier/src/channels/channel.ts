import type { Alert } from "@vigil/core";

/**
 * What one delivery carries: one alert, or the alerts a route's group gathered (Alertmanager's
 * grouping), first the oldest.
 */
export interface Notification {
  /** The alert's id when it is notified alone; `<group id>-<batch seq>` for a group's. */
  id: string;
  alerts: [Alert, ...Alert[]];
  /** Set for a group's notification: the route and the values of its `groupBy` fields. */
  group?: { route: string; labels: Record<string, unknown> };
}

/** A notification of one alert, notified alone. */
export const singleAlert = (alert: Alert): Notification => ({ id: alert.id, alerts: [alert] });

/**
 * One configured destination for alerts. Implementations know nothing of queues: they
 * deliver once or throw, and the deliveries worker decides about retries.
 */
export interface Channel {
  /** The channel's name from `config.channels`; deliveries and metrics are labelled with it. */
  readonly name: string;
  /**
   * Delivers one notification; resolves once the receiver has accepted it, with the receiver's
   * answer in a few words (`250 OK …`, `202 Accepted`) for the alert history.
   * Rejects with a `DeliveryError` whose `permanent` flag says whether a retry could help.
   * `deliveryId` is stable per notification and channel, so receivers can drop duplicates.
   */
  send(notification: Notification, deliveryId: string): Promise<string | undefined>;
  /** Releases connections; called once at shutdown, after the last `send`. */
  close?(): Promise<void>;
}
