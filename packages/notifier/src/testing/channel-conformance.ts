import { singleAlert } from "../channels/channel.js";
import { DeliveryError } from "@vigil/core";
import { afterEach, describe, expect, it } from "vitest";
import { makeAlert } from "./alert.fixture.js";
import { rejectionOf } from "./rejection.js";
import type { Channel } from "../channels/channel.js";

/** What a receiver saw of one accepted delivery. */
export interface AcceptedDelivery {
  deliveryId: string;
  alertId: string;
  title: string;
}

/** A channel wired to a local receiver whose answers the suite controls. */
export interface ChannelHarness {
  channel: Channel;
  /** Resolves with every delivery the receiver accepted once there are at least `count`. */
  waitForAccepted(count: number, timeoutMs: number): Promise<AcceptedDelivery[]>;
  /** Makes the receiver refuse the next delivery the way a broken or overloaded receiver would. */
  refuseNext(kind: "permanent" | "transient"): void;
  /** Secrets from the channel's config, which no error message may contain. */
  secrets: string[];
  close(): Promise<void>;
}

export interface ChannelHarnessFactory {
  /** A channel talking to a live receiver. */
  start(): Promise<ChannelHarness>;
  /** A channel whose receiver does not listen. */
  startUnreachable(): Promise<Pick<ChannelHarness, "channel" | "secrets" | "close">>;
}

/** The delivery cases every channel must pass (STYLE.md: one conformance suite per contract). */
export function describeChannelConformance(type: string, factory: ChannelHarnessFactory): void {
  describe(`${type} channel conformance`, () => {
    const opened: { close(): Promise<void> }[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((harness) => harness.close()));
    });
    const start = async () => {
      const harness = await factory.start();
      opened.push(harness);
      return harness;
    };
    const expectNoSecret = (err: Error, secrets: string[]) => {
      for (const secret of secrets) expect(err.message).not.toContain(secret);
    };

    it("delivers an alert with its stable delivery id", async () => {
      const harness = await start();
      const alert = makeAlert();
      await harness.channel.send(singleAlert(alert), `${alert.id}-${harness.channel.name}`);
      const [accepted] = await harness.waitForAccepted(1, 5_000);
      expect(accepted).toEqual({
        deliveryId: `${alert.id}-${harness.channel.name}`,
        alertId: alert.id,
        title: alert.title,
      });
    });

    it("reports a permanent refusal as a permanent DeliveryError naming the channel", async () => {
      const harness = await start();
      harness.refuseNext("permanent");
      const err = await rejectionOf(harness.channel.send(singleAlert(makeAlert()), "d-1"));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ permanent: true, channel: harness.channel.name });
      expect(err.message).toContain(harness.channel.name);
      expectNoSecret(err, harness.secrets);
    });

    it("reports a transient refusal as retryable, and the next attempt goes through", async () => {
      const harness = await start();
      harness.refuseNext("transient");
      const alert = makeAlert();
      const err = await rejectionOf(harness.channel.send(singleAlert(alert), "d-2"));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ permanent: false, channel: harness.channel.name });
      expectNoSecret(err, harness.secrets);

      await harness.channel.send(singleAlert(alert), "d-2");
      const accepted = await harness.waitForAccepted(1, 5_000);
      expect(accepted.map((delivery) => delivery.deliveryId)).toEqual(["d-2"]);
    });

    it("reports an unreachable receiver as retryable", async () => {
      const harness = await factory.startUnreachable();
      opened.push(harness);
      const err = await rejectionOf(harness.channel.send(singleAlert(makeAlert()), "d-3"));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ permanent: false, channel: harness.channel.name });
      expectNoSecret(err, harness.secrets);
    });
  });
}
