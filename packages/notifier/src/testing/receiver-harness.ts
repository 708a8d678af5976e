import type { HttpReceiver, ReceivedRequest, ReceiverAnswer } from "@vigil/simulator";
import type { AcceptedDelivery, ChannelHarness, Refusal } from "./channel-conformance.js";

/** How one provider refuses, per kind of refusal, and how its accepted requests name the alert. */
export interface ReceiverHarnessOptions {
  receiver: HttpReceiver;
  config: Record<string, unknown>;
  secrets: string[];
  refusals: Record<Refusal, ReceiverAnswer>;
  delivery(request: ReceivedRequest): Omit<AcceptedDelivery, "receivedAt" | "text">;
}

/** A conformance harness over a simulated provider receiver (Slack, Teams, PagerDuty, …). */
export function receiverHarness(options: ReceiverHarnessOptions): ChannelHarness {
  const { receiver } = options;
  return {
    config: options.config,
    secrets: options.secrets,
    refuseNext: (kind) => receiver.failNext(options.refusals[kind]),
    lastRefusalAt: () => receiver.lastRefusalAt(),
    async waitForAccepted(count, timeoutMs) {
      const accepted = await receiver.waitForAccepted(count, timeoutMs);
      return accepted.map((request) => ({
        ...options.delivery(request),
        receivedAt: request.receivedAt,
        text: request.body,
      }));
    },
    close: () => receiver.close(),
  };
}

/** The alert id a rendered message names in its `vigil alerts show <id>` line. */
export function shownAlertId(body: string): string {
  return /vigil alerts show ([^\s"`\\]+)/.exec(body)?.[1] ?? "";
}
