import { ConnectorError, LuaCommand, type Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import { z } from "zod";
import { CheckpointSchema, type Checkpoint } from "../kit/connector.js";

/** A source's pull history, as kept in its health hash. Times are ISO-8601 UTC. */
export const SourceHealthSchema = z.object({
  lastSuccessAt: z.string().optional(),
  lastErrorAt: z.string().optional(),
  /** The last error's message (never a secret: messages are built without credentials). */
  lastError: z.string().optional(),
  /** Newest event time ever queued from this source. */
  newestEventTime: z.string().optional(),
  /** Events queued from this source, all runs together. */
  eventsPulled: z.coerce.number().int().default(0),
  /** Events queued by the last finished run. */
  lastRunEvents: z.coerce.number().int().optional(),
});
export type SourceHealth = z.infer<typeof SourceHealthSchema>;

/**
 * How far a source's latest pull got, stored with each page it queues (`vigil status`): the
 * window it reads, the records it read and queued so far, and what is left at the density seen.
 */
const PullProgressRecordSchema = z.object({
  state: z.enum(["running", "done", "failed"]),
  startedAt: z.string(),
  updatedAt: z.string(),
  window: z.object({ start: z.string(), end: z.string() }).optional(),
  recordsRead: z.number().int().nonnegative(),
  eventsQueued: z.number().int().nonnegative(),
  estimatedRemaining: z.number().int().nonnegative().optional(),
});
export type PullProgressRecord = z.infer<typeof PullProgressRecordSchema>;

/** What one finished run queued. */
export interface RunProgress {
  at: Date;
  events: number;
  /** Newest event time among the queued events (any ISO-8601 offset). */
  newestEventTime?: string;
}

/**
 * Counts a run's events and raises `newestEventTime` only if the new value is later. Times are
 * stored as `toISOString()` (fixed width, UTC), so string order is time order.
 */
const RECORD_RUN_SCRIPT = new LuaCommand(
  "vigilRecordRun",
  1,
  `
local key = KEYS[1]
redis.call('HINCRBY', key, 'eventsPulled', ARGV[1])
redis.call('HSET', key, 'lastRunEvents', ARGV[1])
if ARGV[2] ~= '' then
  local current = redis.call('HGET', key, 'newestEventTime')
  if (not current) or current < ARGV[2] then redis.call('HSET', key, 'newestEventTime', ARGV[2]) end
end
for i = 3, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
return 1
`,
);

/** Checkpoint (JSON string) and health (hash) per source, in Redis. */
export class CheckpointStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
  ) {}

  checkpointKey(source: string): string {
    return this.keyspace.key("source", source, "checkpoint");
  }

  healthKey(source: string): string {
    return this.keyspace.key("source", source, "health");
  }

  progressKey(source: string): string {
    return this.keyspace.key("source", source, "progress");
  }

  async setProgress(source: string, progress: PullProgressRecord): Promise<void> {
    await this.redis.set(this.progressKey(source), JSON.stringify(progress));
  }

  /** The latest pull's progress per source name; a source never pulled, or stored unreadably, has none. */
  async getProgress(names: readonly string[]): Promise<Map<string, PullProgressRecord>> {
    const texts = names.length ? await this.redis.mget(...names.map((name) => this.progressKey(name))) : [];
    const progress = new Map<string, PullProgressRecord>();
    names.forEach((name, i) => {
      const text = texts[i];
      if (!text) return;
      try {
        const parsed = PullProgressRecordSchema.safeParse(JSON.parse(text));
        if (parsed.success) progress.set(name, parsed.data);
      } catch {
        // Not JSON: shown as no progress; the next pull writes it again.
      }
    });
    return progress;
  }

  /** The stored checkpoint, or undefined before the first page was queued. */
  async get(source: string): Promise<Checkpoint | undefined> {
    const text = await this.redis.get(this.checkpointKey(source));
    return text === null ? undefined : parseCheckpoint(source, text);
  }

  async set(source: string, checkpoint: Checkpoint): Promise<void> {
    await this.redis.set(this.checkpointKey(source), JSON.stringify(checkpoint));
  }

  /** Forgets the checkpoint and the last pull's progress: the next pull starts as a first run. */
  async reset(source: string): Promise<void> {
    await this.redis.del(this.checkpointKey(source), this.progressKey(source));
  }

  async recordSuccess(source: string, run: RunProgress): Promise<void> {
    await this.recordRun(source, run, ["lastSuccessAt", run.at.toISOString()]);
  }

  /** Records a failed run; events it queued before failing still count. */
  async recordError(source: string, run: RunProgress & { message: string }): Promise<void> {
    await this.recordRun(source, run, ["lastErrorAt", run.at.toISOString(), "lastError", run.message]);
  }

  /** Health per source name; a source never pulled gets `{ eventsPulled: 0 }`. */
  async getHealth(names: readonly string[]): Promise<Map<string, SourceHealth>> {
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.healthKey(name));
    const replies = (await pipeline.exec()) ?? [];
    const health = new Map<string, SourceHealth>();
    names.forEach((name, i) => {
      const [err, hash] = replies[i] ?? [null, {}];
      if (err) throw err;
      health.set(name, SourceHealthSchema.parse(hash ?? {}));
    });
    return health;
  }

  private async recordRun(source: string, run: RunProgress, fields: string[]): Promise<void> {
    const newest = run.newestEventTime === undefined ? "" : new Date(run.newestEventTime).toISOString();
    await RECORD_RUN_SCRIPT.run(this.redis, [this.healthKey(source)], [run.events, newest, ...fields]);
  }
}

function parseCheckpoint(source: string, text: string): Checkpoint {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConnectorError(
      source,
      `stored checkpoint is not JSON; start again with \`vigil sources reset ${source}\``,
      { retryable: false },
      { cause: err },
    );
  }
  const result = CheckpointSchema.safeParse(json);
  if (!result.success)
    throw new ConnectorError(
      source,
      `stored checkpoint is not a JSON object; start again with \`vigil sources reset ${source}\``,
      {
        retryable: false,
      },
    );
  return result.data;
}
