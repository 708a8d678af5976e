import { createHash } from "node:crypto";
import { LuaCommand, redactSecrets, type Keyspace } from "@vigil/core";
import type { Redis } from "ioredis";
import { z } from "zod";
import { REFUSED_RECORD_BYTES, type RefusedRecord } from "../kit/connector.js";

/** The most of a refused record's text that is kept; the rest is cut (and `rawBytes` says how long it was). */
export const QUARANTINE_RAW_BYTES = REFUSED_RECORD_BYTES;
/** The most entries kept per source; beyond it the oldest is dropped for the newest (each is still counted). */
const QUARANTINE_MAX_PER_SOURCE = 10_000;

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
 * Adds an entry unless one with its id is held (a re-read page quarantines nothing twice), and
 * drops the source's oldest entries beyond the cap. Returns 1 when it was added.
 */
const ADD_SCRIPT = new LuaCommand(
  "vigilQuarantineAdd",
  3,
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
-- Scored by arrival order (a counter beside the index, under the same hash tag), so records
-- refused in the same millisecond keep the order the source read them in.
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[2] .. ':seq'), ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], over)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[6] .. oldest[i]) end
end
return 1
`,
);

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
  constructor(
    private readonly redis: Redis,
    private readonly keyspace: Keyspace,
    private readonly maxPerSource = QUARANTINE_MAX_PER_SOURCE,
  ) {}

  private entryKey(id: string): string {
    return this.keyspace.key("quarantine", "entry", id);
  }
  private indexKey(source: string): string {
    return this.keyspace.key("quarantine", "source", source);
  }
  private get sourcesKey(): string {
    return this.keyspace.key("quarantine", "sources");
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
    const added = await ADD_SCRIPT.run(
      this.redis,
      [this.entryKey(id), this.indexKey(source), this.sourcesKey],
      [
        JSON.stringify(entry),
        at.getTime(),
        id,
        source,
        this.maxPerSource,
        this.keyspace.key("quarantine", "entry", ""),
      ],
    );
    return added === 1 ? entry : undefined;
  }

  /** Entries of one source, or of every source, oldest first. */
  async list(source?: string): Promise<QuarantineEntry[]> {
    const sources = source === undefined ? (await this.redis.smembers(this.sourcesKey)).sort() : [source];
    const entries: QuarantineEntry[] = [];
    for (const name of sources) {
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
    return this.redis.zcard(this.indexKey(source));
  }

  /** Forgets an entry; false when none has that id. */
  async drop(id: string): Promise<boolean> {
    const entry = await this.get(id);
    if (!entry) return (await this.redis.del(this.entryKey(id))) > 0;
    await this.redis.multi().del(this.entryKey(id)).zrem(this.indexKey(entry.source), id).exec();
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
