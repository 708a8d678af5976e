import { createHash } from "node:crypto";
import {
  AlertSchema,
  DELIVERED_RETENTION_S,
  alertFieldValues,
  LuaCommand,
  type Alert,
  type Keyspace,
} from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { Grouping } from "./alert-routing.js";

/**
 * Adds an alert to its group's pending set, once, and says when the group's next batch is due.
 * A group that sent nothing for a whole interval starts afresh: its first alert waits `groupWait`;
 * otherwise the batch is due one `groupInterval` after the last one. Returns {seq, due}: the batch
 * number and its due time (ms), or due -1 when nothing is pending.
 */
const ADD_TO_GROUP = new LuaCommand(
  "vigilGroupAdd",
  3,
  `
local group, pending, seen = KEYS[1], KEYS[2], KEYS[3]
local id, score, now, wait, interval, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('SADD', seen, id) == 1 then
  redis.call('ZADD', pending, score, id)
end
local seq = tonumber(redis.call('HGET', group, 'seq') or '0')
local due = tonumber(redis.call('HGET', group, 'due') or '-1')
if due < 0 and redis.call('ZCARD', pending) > 0 then
  local last = tonumber(redis.call('HGET', group, 'last') or '-1')
  if last >= 0 and now - last < interval then due = last + interval else due = now + wait end
  redis.call('HSET', group, 'due', due)
end
redis.call('EXPIRE', seen, ttl)
redis.call('EXPIRE', pending, ttl)
redis.call('EXPIRE', group, ttl)
return {seq, due}
`,
);

/**
 * Takes batch `seq` of a group: the first run moves the pending alerts into the batch and opens
 * the next one; a run again (a crash after it, a stalled job) reads the same batch back.
 */
const TAKE_BATCH = new LuaCommand(
  "vigilGroupTake",
  3,
  `
local group, pending, batch = KEYS[1], KEYS[2], KEYS[3]
local seq, now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local current = tonumber(redis.call('HGET', group, 'seq') or '0')
if current == seq then
  if redis.call('EXISTS', pending) == 1 then
    redis.call('RENAME', pending, batch)
    redis.call('EXPIRE', batch, ttl)
  end
  redis.call('HSET', group, 'seq', seq + 1, 'last', now)
  redis.call('HDEL', group, 'due')
  redis.call('EXPIRE', group, ttl)
end
return redis.call('ZRANGE', batch, 0, -1)
`,
);

/** A group's identity: its route and the values of its `groupBy` fields. */
export interface AlertGroup {
  id: string;
  route: string;
  labels: Record<string, string>;
}

/**
 * Alert groups in Redis. Group state (its batch number, due time, last send, pending alerts) is
 * changed only by the two scripts above, so notifier replicas and restarts see one truth; the
 * alerts themselves are kept beside it until their group's batch is sent.
 */
export class AlertGroups {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
  ) {}

  static group(route: string, grouping: Grouping, alert: Alert): AlertGroup {
    const labels = Object.fromEntries(
      grouping.groupBy.map((field) => [field, alertFieldValues(alert, field).join(",")]),
    );
    const id = createHash("sha256")
      .update(JSON.stringify([route, labels]))
      .digest("hex")
      .slice(0, 24);
    return { id, route, labels };
  }

  private keys(groupId: string) {
    return {
      group: this.keyspace.key("group", groupId),
      pending: this.keyspace.key("group", groupId, "pending"),
      seen: this.keyspace.key("group", groupId, "seen"),
      batch: (seq: number) => this.keyspace.key("group", groupId, "batch", seq),
    };
  }

  private alertKey(alertId: string): string {
    return this.keyspace.key("group-alert", alertId);
  }

  /** How long group state outlives its last change: long enough for any batch to be sent, and retried. */
  private ttlSeconds(grouping: Grouping): number {
    return Math.max(86_400, Math.ceil((grouping.groupWait + 2 * grouping.groupInterval) / 1000));
  }

  /** Adds the alert to its group (once, however often this runs); returns the batch to schedule, if any. */
  async add(
    group: AlertGroup,
    grouping: Grouping,
    alert: Alert,
    now = Date.now(),
  ): Promise<{ seq: number; dueAt: number } | undefined> {
    await this.redis.set(this.alertKey(alert.id), JSON.stringify(alert), "EX", DELIVERED_RETENTION_S);
    const keys = this.keys(group.id);
    const raised = Date.parse(alert.createdAt);
    const [seq, due] = (await ADD_TO_GROUP.run(
      this.redis,
      [keys.group, keys.pending, keys.seen],
      [
        alert.id,
        Number.isFinite(raised) ? raised : now,
        now,
        grouping.groupWait,
        grouping.groupInterval,
        this.ttlSeconds(grouping),
      ],
    )) as [number, number];
    return due >= 0 ? { seq, dueAt: due } : undefined;
  }

  /** The alerts of batch `seq`, oldest first (empty: nothing new, nothing to send). */
  async take(
    groupId: string,
    seq: number,
    grouping: Pick<Grouping, "groupInterval">,
    now = Date.now(),
  ): Promise<Alert[]> {
    const keys = this.keys(groupId);
    const ttl = Math.max(86_400, Math.ceil((2 * grouping.groupInterval) / 1000));
    const ids = (await TAKE_BATCH.run(
      this.redis,
      [keys.group, keys.pending, keys.batch(seq)],
      [seq, now, ttl],
    )) as string[];
    if (!ids.length) return [];
    const raw = await this.redis.mget(...ids.map((id) => this.alertKey(id)));
    return raw.flatMap((text) => {
      if (text === null) return [];
      const parsed = AlertSchema.safeParse(JSON.parse(text));
      return parsed.success ? [parsed.data] : [];
    });
  }
}
