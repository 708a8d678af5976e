import { AlertSchema, LuaCommand, type Alert, type Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import { z } from "zod";

/** One thing that happened to an alert in the notifier, in wall-clock time. */
const HistoryEntrySchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("routed"),
    at: z.string(),
    targets: z.array(z.object({ route: z.string(), channels: z.array(z.string()), grouped: z.boolean() })),
  }),
  z.object({ kind: z.literal("unrouted"), at: z.string() }),
  z.object({ kind: z.literal("silenced"), at: z.string(), silenceId: z.string(), reason: z.string() }),
  z.object({ kind: z.literal("inhibited"), at: z.string(), by: z.string(), inhibitRule: z.number().int() }),
  z.object({
    kind: z.literal("grouped"),
    at: z.string(),
    route: z.string(),
    notificationId: z.string(),
    /** Every alert of the notification, this one included. */
    alertIds: z.array(z.string()),
  }),
  z.object({
    kind: z.literal("delivery"),
    at: z.string(),
    channel: z.string(),
    notificationId: z.string(),
    outcome: z.enum(["sent", "retry", "failed", "already_sent"]),
    attempt: z.number().int(),
    /** The receiver's answer (`250 …`, `202 Accepted`) or the error. */
    answer: z.string().optional(),
  }),
]);
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

export const ALERT_STATUSES = ["notified", "silenced", "inhibited", "failed", "unrouted", "pending"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** An alert and what happened to it, oldest entry first. */
export interface AlertRecord {
  alert: Alert;
  status: AlertStatus;
  entries: HistoryEntry[];
}

export interface HistoryQuery {
  /** Alerts raised at or after this time (ms). */
  sinceMs?: number;
  ruleId?: string;
  severity?: Alert["severity"];
  status?: AlertStatus;
  limit?: number;
}

/** Keeps the alert, adds it to the time index, and drops what is past retention or beyond the size bound. */
const RECORD_ALERT = new LuaCommand(
  "vigilHistoryRecord",
  2,
  `
local index, alertKey = KEYS[1], KEYS[2]
local id, json, score, ttl, maxAlerts, oldest, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]
redis.call('SET', alertKey, json, 'EX', ttl)
redis.call('ZADD', index, score, id)
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. oldest)
local over = redis.call('ZCARD', index) - maxAlerts
if over > 0 then
  local dropped = redis.call('ZRANGE', index, 0, over - 1)
  redis.call('ZREMRANGEBYRANK', index, 0, over - 1)
  for _, old in ipairs(dropped) do
    redis.call('UNLINK', prefix .. 'alert:' .. old, prefix .. 'log:' .. old)
  end
end
return over
`,
);

/**
 * The alert history in Redis: per alert its payload and a hash of entries (one field per fact, so
 * a job run again writes the same field and nothing twice), and a time index. Records live
 * `retention` and at most `maxAlerts` are kept (the oldest go first).
 */
export class AlertHistory {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    private readonly limits: { retention: number; maxAlerts: number },
  ) {}

  private key(what: "alert" | "log", id: string): string {
    return this.keyspace.key("history", what, id);
  }

  private get ttlSeconds(): number {
    return Math.ceil(this.limits.retention / 1000);
  }

  /** Records an alert as received (again: a no-op but for its expiry). */
  async recordAlert(alert: Alert, now = Date.now()): Promise<void> {
    const parsed = Date.parse(alert.createdAt);
    const raisedAt = Number.isFinite(parsed) ? parsed : now;
    // Kept `retention` from when the alert was raised (an alert older than that, a minute).
    const ttlSeconds = Math.max(60, Math.ceil((raisedAt + this.limits.retention - now) / 1000));
    await RECORD_ALERT.run(
      this.redis,
      [this.keyspace.key("history", "index"), this.key("alert", alert.id)],
      [
        alert.id,
        JSON.stringify(alert),
        raisedAt,
        ttlSeconds,
        this.limits.maxAlerts,
        now - this.limits.retention,
        this.keyspace.key("history", ""),
      ],
    );
  }

  /** Adds an entry to alerts' records; `field` names the fact, so writing it again replaces it. */
  async add(alertIds: readonly string[], field: string, entry: HistoryEntry): Promise<void> {
    if (!alertIds.length) return;
    const pipeline = this.redis.pipeline();
    const json = JSON.stringify(entry);
    for (const id of alertIds) {
      pipeline.hset(this.key("log", id), field, json);
      pipeline.expire(this.key("log", id), this.ttlSeconds);
    }
    await pipeline.exec();
  }

  async get(alertId: string): Promise<AlertRecord | undefined> {
    const [record] = await this.load([alertId]);
    return record;
  }

  /** Alerts newest first, filtered. */
  async list(query: HistoryQuery = {}): Promise<AlertRecord[]> {
    const ids = await this.redis.zrevrangebyscore(
      this.keyspace.key("history", "index"),
      "+inf",
      query.sinceMs ?? "-inf",
    );
    const found: AlertRecord[] = [];
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    for (let i = 0; i < ids.length && found.length < limit; i += 200) {
      for (const record of await this.load(ids.slice(i, i + 200))) {
        if (query.ruleId && record.alert.ruleId !== query.ruleId) continue;
        if (query.severity && record.alert.severity !== query.severity) continue;
        if (query.status && record.status !== query.status) continue;
        found.push(record);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  private async load(ids: readonly string[]): Promise<AlertRecord[]> {
    if (!ids.length) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      pipeline.get(this.key("alert", id));
      pipeline.hgetall(this.key("log", id));
    }
    const replies = (await pipeline.exec()) ?? [];
    const records: AlertRecord[] = [];
    ids.forEach((_, i) => {
      const raw = replies[2 * i]?.[1];
      const log = (replies[2 * i + 1]?.[1] ?? {}) as Record<string, string>;
      if (typeof raw !== "string") return;
      const alert = AlertSchema.safeParse(JSON.parse(raw));
      if (!alert.success) return;
      const entries = Object.values(log)
        .flatMap((text) => {
          const entry = HistoryEntrySchema.safeParse(JSON.parse(text));
          return entry.success ? [entry.data] : [];
        })
        .sort((a, b) => a.at.localeCompare(b.at));
      records.push({ alert: alert.data, status: alertStatus(entries), entries });
    });
    return records;
  }
}

/**
 * What became of an alert: silenced, inhibited or unrouted when so decided; else `failed` when a
 * notification of it was last seen failed on some channel, `notified` when one was accepted, and
 * `pending` while it waits (in a group, or in its deliveries' retries).
 */
export function alertStatus(entries: readonly HistoryEntry[]): AlertStatus {
  for (const kind of ["silenced", "inhibited", "unrouted"] as const) {
    if (entries.some((entry) => entry.kind === kind)) return kind;
  }
  const last = new Map<string, HistoryEntry & { kind: "delivery" }>();
  for (const entry of entries) {
    if (entry.kind === "delivery") last.set(`${entry.notificationId}\u0000${entry.channel}`, entry);
  }
  const outcomes = [...last.values()].map((entry) => entry.outcome);
  if (outcomes.includes("failed")) return "failed";
  if (outcomes.some((outcome) => outcome === "sent" || outcome === "already_sent")) return "notified";
  return "pending";
}
