import { createHash } from "node:crypto";
import { DeliveryError } from "@vigil/core";
import type { Channel, Notification } from "../channel.js";
import type { ChannelContext } from "../channel-manifest.js";
import { channelLimiter, type HttpTarget, postHttp } from "../http-delivery.js";
import { renderNotificationMessage } from "../../render/notification-message.js";
import type { SlackChannelConfig } from "./slack.config.js";
import { slackNotificationMessage } from "./slack.message.js";

/** `chat.postMessage` errors a later attempt can get past; every other error is permanent (auth, channel, payload). */
const RETRYABLE_API_ERRORS = new Set([
  "ratelimited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/**
 * Posts a notification (an alert, or a group's alerts in one message) to Slack as Block Kit: by
 * incoming webhook, or by `chat.postMessage`, which keeps the `ts` of a group's first message in
 * Redis and posts the group's later notifications in its thread. Errors name the host only (a
 * webhook URL's path is its credential).
 */
export class SlackChannel implements Channel {
  readonly name: string;
  private readonly target: HttpTarget;

  constructor(
    private readonly config: SlackChannelConfig,
    private readonly context: ChannelContext,
  ) {
    this.name = config.name;
    const url = config.webhookUrl ?? config.apiUrl;
    const credential = config.webhookUrl ?? `${config.token}:${config.channel}`;
    this.target = {
      channel: config.name,
      receiver: `Slack ${new URL(url).host}`,
      timeoutMs: config.timeout,
      limiter: channelLimiter(context, `slack:${credential}`, config.rateLimit),
    };
  }

  async send(notification: Notification): Promise<string | undefined> {
    const message = slackNotificationMessage(renderNotificationMessage(notification));
    const { webhookUrl, token, channel } = this.config;
    if (webhookUrl) {
      const answer = await postHttp(this.target, webhookUrl, JSON.stringify(message), {
        "content-type": "application/json",
      });
      return answer.summary;
    }
    const threadKey = this.threadKey(notification);
    const threadTs = await this.context.redis.get(threadKey);
    const body = { channel, ...message, ...(threadTs ? { thread_ts: threadTs } : {}) };
    const answer = await postHttp(this.target, `${this.config.apiUrl}/chat.postMessage`, JSON.stringify(body), {
      authorization: `Bearer ${token}`,
      "content-type": "application/json; charset=utf-8",
    });
    const reply = parseReply(answer.text);
    if (!reply.ok) {
      const error = reply.error ?? "an answer that is not Slack's";
      throw new DeliveryError(
        this.name,
        `${this.target.receiver} chat.postMessage answered ${error}`,
        !RETRYABLE_API_ERRORS.has(error),
      );
    }
    // The group's first message starts its thread; a concurrent first message keeps its own.
    if (!threadTs && reply.ts) await this.context.redis.set(threadKey, reply.ts, "PX", this.config.threadFor, "NX");
    return `ok ts=${reply.ts ?? "?"}${threadTs ? ` in thread ${threadTs}` : ""}`;
  }

  /**
   * One thread per channel and group: a route's group (its route and `groupBy` values), or for an
   * alert notified alone its rule and group values.
   */
  private threadKey({ alerts: [alert], group }: Notification): string {
    const identity = group
      ? ["route", group.route, Object.entries(group.labels).sort()]
      : ["rule", alert.ruleId, Object.entries(alert.groupKey).sort()];
    const hash = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 32);
    return this.context.keyspace.key("slack-thread", this.name, hash);
  }
}

function parseReply(text: string): { ok: boolean; error?: string; ts?: string } {
  try {
    const reply = JSON.parse(text) as { ok?: unknown; error?: unknown; ts?: unknown };
    return {
      ok: reply.ok === true,
      ...(typeof reply.error === "string" ? { error: reply.error } : {}),
      ...(typeof reply.ts === "string" ? { ts: reply.ts } : {}),
    };
  } catch {
    return { ok: false };
  }
}
