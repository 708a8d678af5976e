import type { Alert } from "@vigil/core";

/**
 * One configured destination for alerts. Implementations know nothing of queues: they
 * deliver once or throw, and the deliveries worker decides about retries.
 */
export interface Channel {
  /** The channel's name from `config.channels`; deliveries and metrics are labelled with it. */
  readonly name: string;
  /**
   * Delivers one alert; resolves once the receiver has accepted it.
   * Rejects with a `DeliveryError` whose `permanent` flag says whether a retry could help.
   * `deliveryId` is stable per alert and channel, so receivers can drop duplicates.
   */
  send(alert: Alert, deliveryId: string): Promise<void>;
  /** Releases connections; called once at shutdown, after the last `send`. */
  close?(): Promise<void>;
}
