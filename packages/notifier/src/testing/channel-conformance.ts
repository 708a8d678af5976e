import { randomUUID } from "node:crypto";
import {
  createRedis,
  DeliveryError,
  deleteKeyspace,
  deliveryJobId,
  Keyspace,
  openQueue,
  retryFailedJobs,
} from "@vigil/core";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Channel, singleAlert } from "../channels/channel.js";
import type { ChannelContext } from "../channels/channel-manifest.js";
import { ChannelConfigSchema, createChannel } from "../channels/channel-registry.js";
import { startNotifier } from "../notifier.js";
import { makeAlert } from "./alert.fixture.js";
import { NotifierConfigSchema } from "./notifier-config.js";
import { rejectionOf } from "./rejection.js";

/** What a receiver saw of one accepted delivery. */
export interface AcceptedDelivery {
  /** The delivery id, where the receiver's format carries one (Slack and Teams messages do not). */
  deliveryId?: string;
  alertId: string;
  title: string;
  /** When the receiver took it (ms since the epoch). */
  receivedAt: number;
  /** The message as received (body or mail text): a group's notification must name each of its alerts' ids in it. */
  text: string;
}

/** How a receiver refuses: a permanent 4xx (or SMTP 5xx), a transient 5xx, or a 429 with a `Retry-After` of 1 s. */
export type Refusal = "permanent" | "transient" | "rate-limited";

/** A live receiver whose answers the suite controls, and the config of a channel sending to it. */
export interface ChannelHarness {
  /** The channel's config as a user writes it (parsed by the registry's schema). */
  config: Record<string, unknown>;
  /** Resolves with every delivery the receiver accepted once there are at least `count`. */
  waitForAccepted(count: number, timeoutMs: number): Promise<AcceptedDelivery[]>;
  /** Makes the receiver refuse the next delivery the way a broken or overloaded receiver would. */
  refuseNext(kind: Refusal): void;
  /** When the receiver last refused a delivery (ms since the epoch). */
  lastRefusalAt(): number | undefined;
  /** Secrets from the channel's config, which no error message may contain. */
  secrets: string[];
  close(): Promise<void>;
}

export interface ChannelHarnessFactory {
  /** A receiver and a channel config talking to it. */
  start(): Promise<ChannelHarness>;
  /** The config of a channel whose receiver does not listen, and its secrets. */
  unreachable(): Promise<{ config: Record<string, unknown>; secrets: string[] }>;
  /** Whether the receiver can answer 429 with `Retry-After` (HTTP channels). */
  rateLimited: boolean;
  /** Whether a group's notification goes out as one message per alert (PagerDuty: an event per alert), not one message. */
  messagePerAlert?: boolean;
}

const RETRY_AFTER_MS = 1_000;

/**
 * What channels get from a notifier, for tests: a Redis on 127.0.0.1:6379 and a keyspace of each
 * test's own, deleted after it. Call at the top of a `describe` (or file).
 */
export function useChannelContext(): () => ChannelContext {
  let redis: Redis | undefined;
  let context: ChannelContext | undefined;
  beforeAll(() => {
    redis = createRedis("redis://127.0.0.1:6379");
  });
  beforeEach(() => {
    if (redis) context = { redis, keyspace: new Keyspace(`test-${randomUUID()}`) };
  });
  afterEach(async () => {
    if (redis && context) await deleteKeyspace(redis, context.keyspace);
    context = undefined;
  });
  afterAll(async () => {
    await redis?.quit();
  });
  return () => {
    if (!context) throw new Error("useChannelContext(): the context exists only inside tests");
    return context;
  };
}

/**
 * The delivery cases every channel must pass (STYLE.md: one conformance suite per contract).
 * Channels are built from their config through the registry, with a Redis of their own
 * (a unique keyspace on 127.0.0.1:6379); the last case runs them inside a notifier.
 */
export function describeChannelConformance(type: string, factory: ChannelHarnessFactory): void {
  describe(`${type} channel conformance`, () => {
    const channelContext = useChannelContext();
    const opened: { close(): Promise<void> }[] = [];
    afterEach(async () => {
      for (const item of opened.splice(0).reverse()) await item.close();
    });
    const build = (config: Record<string, unknown>): Channel => {
      const channel = createChannel(ChannelConfigSchema.parse(config), channelContext());
      opened.push({ close: async () => channel.close?.() });
      return channel;
    };
    const start = async () => {
      const harness = await factory.start();
      opened.push(harness);
      return { harness, channel: build(harness.config) };
    };
    const expectNoSecret = (err: Error, secrets: string[]) => {
      for (const secret of secrets) expect(err.message).not.toContain(secret);
    };

    it("delivers an alert with its stable delivery id", async () => {
      const { harness, channel } = await start();
      const alert = makeAlert();
      await channel.send(singleAlert(alert), `${alert.id}-${channel.name}`);
      const [accepted] = await harness.waitForAccepted(1, 5_000);
      expect(accepted).toMatchObject({ alertId: alert.id, title: alert.title });
      if (accepted?.deliveryId !== undefined) expect(accepted.deliveryId).toBe(`${alert.id}-${channel.name}`);
    });

    it("reports a permanent refusal as a permanent DeliveryError naming the channel", async () => {
      const { harness, channel } = await start();
      harness.refuseNext("permanent");
      const err = await rejectionOf(channel.send(singleAlert(makeAlert()), "d-1"));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ permanent: true, channel: channel.name });
      expect(err.message).toContain(channel.name);
      expectNoSecret(err, harness.secrets);
    });

    it("reports a transient refusal as retryable, and the next attempt goes through", async () => {
      const { harness, channel } = await start();
      harness.refuseNext("transient");
      const alert = makeAlert();
      const err = await rejectionOf(channel.send(singleAlert(alert), `${alert.id}-${channel.name}`));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ permanent: false, channel: channel.name });
      expectNoSecret(err, harness.secrets);

      await channel.send(singleAlert(alert), `${alert.id}-${channel.name}`);
      const accepted = await harness.waitForAccepted(1, 5_000);
      expect(accepted.map((delivery) => delivery.alertId)).toEqual([alert.id]);
    });

    it("delivers a group's notification: one message carrying every alert (or one per alert where the receiver needs it)", async () => {
      const { harness, channel } = await start();
      const alerts = [
        makeAlert({ severity: "medium", title: "first of the group" }),
        makeAlert({ severity: "critical", title: "second of the group" }),
        makeAlert({ severity: "low", title: "third of the group" }),
      ] as const;
      const answer = await channel.send(
        { id: "group-1-0", alerts: [...alerts], group: { route: "conformance", labels: { "actor.id": "u-42" } } },
        `group-1-0-${channel.name}`,
      );
      expect(answer).toBeTruthy();
      const messages = factory.messagePerAlert ? alerts.length : 1;
      const accepted = await harness.waitForAccepted(messages, 5_000);
      expect(accepted).toHaveLength(messages);
      const received = accepted.map((delivery) => delivery.text).join("\n");
      for (const alert of alerts) expect(received).toContain(alert.id);
    });

    // Registered only for receivers that can answer 429 (an SMTP server cannot).
    if (factory.rateLimited)
      it("treats a 429 as retryable and sends nothing more before its Retry-After has passed", async () => {
        const { harness, channel } = await start();
        harness.refuseNext("rate-limited");
        const alert = makeAlert();
        const err = await rejectionOf(channel.send(singleAlert(alert), `${alert.id}-${channel.name}`));
        expect(err).toMatchObject({ permanent: false, channel: channel.name });
        expect(err.message).toContain("429");
        expect(err.message).toContain("retry after 1 s");

        await channel.send(singleAlert(alert), `${alert.id}-${channel.name}`);
        const [accepted] = await harness.waitForAccepted(1, 5_000);
        const refusedAt = harness.lastRefusalAt();
        expect(refusedAt).toBeDefined();
        expect((accepted?.receivedAt ?? 0) - (refusedAt ?? 0)).toBeGreaterThanOrEqual(RETRY_AFTER_MS - 5);
      });

    it("reports an unreachable receiver as retryable", async () => {
      const { config, secrets } = await factory.unreachable();
      const channel = build(config);
      const err = await rejectionOf(channel.send(singleAlert(makeAlert()), "d-3"));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err).toMatchObject({ permanent: false, channel: channel.name });
      expectNoSecret(err, secrets);
    });

    it("keeps a permanently refused delivery as failed, and `deliveries retry` sends it again", async () => {
      const harness = await factory.start();
      opened.push(harness);
      const config = NotifierConfigSchema.parse({
        channels: [harness.config],
        notifier: { attempts: 3, backoff: "50ms", concurrency: 2 },
      });
      const name = String(harness.config.name);
      const { redis, keyspace } = channelContext();
      const alerts = openQueue("alerts", redis, keyspace.queuePrefix);
      const deliveries = openQueue("deliveries", redis, keyspace.queuePrefix, config);
      const groups = openQueue("groups", redis, keyspace.queuePrefix, config);
      opened.push(alerts, deliveries, groups);
      const notifier = startNotifier({ config, connection: redis, keyspace, queues: { deliveries, groups } });
      opened.push(notifier);
      await notifier.ready();

      harness.refuseNext("permanent");
      const alert = makeAlert({ notify: [name] });
      await alerts.add("alert", alert, { jobId: alert.id });
      const id = deliveryJobId(alert.id, name);
      const state = async () => (await deliveries.getJob(id))?.getState();
      await until(async () => (await state()) === "failed");
      expect((await deliveries.getJob(id))?.attemptsMade).toBe(1);

      expect(await retryFailedJobs(deliveries, [id])).toEqual({ retried: [id], missing: [] });
      const [accepted] = await harness.waitForAccepted(1, 10_000);
      expect(accepted).toMatchObject({ alertId: alert.id, title: alert.title });
      await until(async () => (await state()) === "completed");
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the delivery's job");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
