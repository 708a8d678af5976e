import { createHash } from "node:crypto";
import { LuaCommand, redactSecrets, type Keyspace, type Logger, type Metrics } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import { z } from "zod";
import { REFUSED_RECORD_BYTES, type RefusedRecord } from "../kit/connector.js";

/** The most of a refused record's text that is kept; the rest is cut (and `rawBytes` says how long it was). */
export const QUARANTINE_RAW_BYTES = REFUSED_RECORD_BYTES;
/**
 * What one source's quarantine holds at most: records, bytes of kept JSON, and how long each is
 * kept. When a new record would pass a cap, the source's oldest records are dropped to make room
 * (the newest refusals are the ones being investigated); drops are logged, counted in
 * `vigil_quarantine_dropped_total` and shown by `vigil sources quarantine list`.
 */
const QUARANTINE_LIMITS = {
  recordsPerSource: 10_000,
  bytesPerSource: 64 * 2 ** 20,
  ttlMs: 14 * 86_400_000,
} as const;
export type QuarantineLimits = { [K in keyof typeof QUARANTINE_LIMITS]: number };

/** How a kept record is re-parsed by `vigil sources quarantine retry`. */
const RefusedFormatSchema = z.enum(["event-line", "event", "provider-record"]);

/** One quarantined record: where it came from, why it was refused, and its text as received (capped). */
const QuarantineEntrySchema = z.object({
  id: z.string(),
  source: z.string(),
  /** `file:line` for the file source; the provider page (endpoint and cursor or window) otherwise. */
  position: z.string(),
  reason: z.string(),
  field: z.string().optional(),
  format: RefusedFormatSchema,
  /** The record as received, cut at {@link QUARANTINE_RAW_BYTES}. */
  raw: z.string(),
  /** The record's full size in UTF-8 bytes; more than `raw` holds when it was cut. */
  rawBytes: z.number().int().min(0),
  truncated: z.boolean(),
  quarantinedAt: z.iso.datetime(),
});
export type QuarantineEntry = z.infer<typeof QuarantineEntrySchema>;

/**
 * KEYS: 1 the source's index (ids by arrival), 2 the same ids by time (ms), 3 sizes (id -> bytes),
 * 4 stats (bytes held, records dropped as full or expired). ARGV[1] is the entry key prefix.
 * `remove` forgets one entry; `expire` drops those quarantined before ARGV[2] (ms).
 */
const QUARANTINE_LUA_PRELUDE = `
local function remove(id)
  redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  local size = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  redis.call('HDEL', KEYS[3], id)
  redis.call('HINCRBY', KEYS[4], 'bytes', -size)
end
local function expire()
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[2])
  for _, id in ipairs(old) do remove(id) end
  if #old > 0 then redis.call('HINCRBY', KEYS[4], 'expired', #old) end
  return #old
end
`;

/**
 * Drops expired entries; then adds an entry unless one with its id is held (a re-read page
 * quarantines nothing twice), and drops the source's oldest entries while a cap is passed.
 * KEYS 5 entry, 6 sources set; ARGV 3 entry JSON, 4 now (ms), 5 id, 6 source, 7 max records,
 * 8 max bytes, 9 TTL (ms). Returns {added (0/1), dropped as full, dropped as expired}.
 */
const ADD_SCRIPT = new LuaCommand(
  "vigilQuarantineAdd",
  6,
  `${QUARANTINE_LUA_PRELUDE}
local expired = expire()
if redis.call('EXISTS', KEYS[5]) == 1 then return {0, 0, expired} end
redis.call('SET', KEYS[5], ARGV[3], 'PX', ARGV[9])
-- Scored by arrival order (a counter beside the index, under the same hash tag), so records
-- refused in the same millisecond keep the order the source read them in.
redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[1] .. ':seq'), ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], string.len(ARGV[3]))
redis.call('HINCRBY', KEYS[4], 'bytes', string.len(ARGV[3]))
redis.call('SADD', KEYS[6], ARGV[6])
local full = 0
while redis.call('ZCARD', KEYS[1]) > 1 and (redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[7])
    or tonumber(redis.call('HGET', KEYS[4], 'bytes')) > tonumber(ARGV[8])) do
  remove(redis.call('ZRANGE', KEYS[1], 0, 0)[1])
  full = full + 1
end
if full > 0 then redis.call('HINCRBY', KEYS[4], 'full', full) end
return {1, full, expired}
`,
);

/** Drops expired entries (ARGV[2]: the oldest time kept, ms); returns how many. */
const EXPIRE_SCRIPT = new LuaCommand("vigilQuarantineExpire", 4, `${QUARANTINE_LUA_PRELUDE}\nreturn expire()`);

/** Forgets entry ARGV[3]; returns 1 when it was held. */
const DROP_SCRIPT = new LuaCommand(
  "vigilQuarantineDrop",
  4,
  `${QUARANTINE_LUA_PRELUDE}
local held = redis.call('EXISTS', ARGV[1] .. ARGV[3])
remove(ARGV[3])
return held
`,
);

/** Records of one source the quarantine dropped unasked, since it began. */
export interface QuarantineDrops {
  /** Oldest records dropped to make room under the caps. */
  full: number;
  /** Records older than the TTL. */
  expired: number;
}

/** Cuts a text to at most `maxBytes` UTF-8 bytes, on a character boundary. */
export function capUtf8(text: string, maxBytes: number): { text: string; bytes: number; truncated: boolean } {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= maxBytes) return { text, bytes, truncated: false };
  // Decoding a cut buffer may end in a partial character (U+FFFD): drop it.
  const cut = Buffer.from(text, "utf8")
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  return { text: cut, bytes, truncated: true };
}

/**
 * Records refused by a source's connector, kept in Redis under the keyspace until retried or
 * dropped: one JSON string per entry, a sorted set per source (by time), and the set of sources
 * holding any. Secrets registered with the logger are scrubbed from the kept text and reason.
 */
export class QuarantineStore {
  private readonly limits: QuarantineLimits;

  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    options: { limits?: Partial<QuarantineLimits>; logger?: Logger; metrics?: Pick<Metrics, "quarantineDropped"> } = {},
  ) {
    this.limits = { ...QUARANTINE_LIMITS, ...options.limits };
    this.logger = options.logger;
    this.metrics = options.metrics;
  }

  private readonly logger: Logger | undefined;
  private readonly metrics: Pick<Metrics, "quarantineDropped"> | undefined;

  private entryKey(id: string): string {
    return this.keyspace.key("quarantine", "entry", id);
  }
  private indexKey(source: string): string {
    return this.keyspace.key("quarantine", "source", source);
  }
  private get sourcesKey(): string {
    return this.keyspace.key("quarantine", "sources");
  }
  /** The keys every script of a source takes first (see QUARANTINE_LUA_PRELUDE). */
  private sourceKeys(source: string): string[] {
    const index = this.indexKey(source);
    return [index, `${index}:at`, `${index}:sizes`, `${index}:stats`];
  }
  private get entryPrefix(): string {
    return this.keyspace.key("quarantine", "entry", "");
  }

  /** Drops a source's expired entries, and reports them. */
  private async expire(source: string, nowMs = Date.now()): Promise<void> {
    const expired = Number(
      await EXPIRE_SCRIPT.run(this.redis, this.sourceKeys(source), [this.entryPrefix, nowMs - this.limits.ttlMs]),
    );
    this.reportDrops(source, 0, expired);
  }

  private reportDrops(source: string, full: number, expired: number): void {
    if (full > 0) {
      this.metrics?.quarantineDropped.inc({ source, reason: "full" }, full);
      this.logger?.warn(
        { source, dropped: full, limits: { records: this.limits.recordsPerSource, bytes: this.limits.bytesPerSource } },
        "quarantine of this source is full: its oldest records were dropped to keep the newest (vigil sources quarantine list)",
      );
    }
    if (expired > 0) {
      this.metrics?.quarantineDropped.inc({ source, reason: "expired" }, expired);
      this.logger?.info({ source, dropped: expired, ttlMs: this.limits.ttlMs }, "quarantined records expired");
    }
  }

  /** Keeps a refused record; false when the same record of the same source is already held. */
  async add(source: string, record: RefusedRecord, at: Date = new Date()): Promise<QuarantineEntry | undefined> {
    const id = quarantineId(source, record);
    const raw = capUtf8(redactSecrets(record.raw), QUARANTINE_RAW_BYTES);
    const entry: QuarantineEntry = {
      id,
      source,
      position: redactSecrets(record.position),
      reason: redactSecrets(record.reason),
      ...(record.field === undefined ? {} : { field: record.field }),
      format: record.format,
      raw: raw.text,
      rawBytes: Buffer.byteLength(record.raw, "utf8"),
      truncated: raw.truncated,
      quarantinedAt: at.toISOString(),
    };
    // The TTL runs from when the record was kept, whatever `at` says.
    const nowMs = Date.now();
    const [added, full, expired] = (await ADD_SCRIPT.run(
      this.redis,
      [...this.sourceKeys(source), this.entryKey(id), this.sourcesKey],
      [
        this.entryPrefix,
        nowMs - this.limits.ttlMs,
        JSON.stringify(entry),
        nowMs,
        id,
        source,
        this.limits.recordsPerSource,
        this.limits.bytesPerSource,
        this.limits.ttlMs,
      ],
    )) as [number, number, number];
    this.reportDrops(source, full, expired);
    return added === 1 ? entry : undefined;
  }

  /** Entries of one source, or of every source, oldest first. */
  async list(source?: string): Promise<QuarantineEntry[]> {
    const sources = source === undefined ? (await this.redis.smembers(this.sourcesKey)).sort() : [source];
    const entries: QuarantineEntry[] = [];
    for (const name of sources) {
      await this.expire(name);
      const ids = await this.redis.zrange(this.indexKey(name), 0, -1);
      if (!ids.length) continue;
      const texts = await this.redis.mget(...ids.map((id) => this.entryKey(id)));
      for (const text of texts) {
        const entry = text === null ? undefined : parseEntry(text);
        if (entry) entries.push(entry);
      }
    }
    return entries;
  }

  async get(id: string): Promise<QuarantineEntry | undefined> {
    const text = await this.redis.get(this.entryKey(id));
    return text === null ? undefined : parseEntry(text);
  }

  /** Held entries per source (what the `vigil_records_quarantined` gauge shows). */
  async count(source: string): Promise<number> {
    await this.expire(source);
    return this.redis.zcard(this.indexKey(source));
  }

  /** How many of a source's records were dropped unasked (full, expired) since its quarantine began. */
  async drops(source: string): Promise<QuarantineDrops> {
    const [full, expired] = await this.redis.hmget(this.sourceKeys(source)[3]!, "full", "expired");
    return { full: Number(full ?? 0), expired: Number(expired ?? 0) };
  }

  /** The caps this store keeps (for messages). */
  get limitsInForce(): Readonly<QuarantineLimits> {
    return this.limits;
  }

  /** Forgets an entry; false when none has that id. */
  async drop(id: string): Promise<boolean> {
    const entry = await this.get(id);
    if (!entry) return (await this.redis.del(this.entryKey(id))) > 0;
    await DROP_SCRIPT.run(this.redis, this.sourceKeys(entry.source), [this.entryPrefix, 0, id]);
    return true;
  }
}

/** Stable per source and record text, so a record read again (a re-read page, a lookback) is held once. */
export function quarantineId(source: string, record: Pick<RefusedRecord, "format" | "raw" | "identity">): string {
  const digest = createHash("sha256").update(source).update("\n").update(record.format).update("\n");
  return `q-${digest
    .update(record.identity ?? record.raw)
    .digest("hex")
    .slice(0, 20)}`;
}

function parseEntry(text: string): QuarantineEntry | undefined {
  try {
    const result = QuarantineEntrySchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
