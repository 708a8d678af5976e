import { createHash, randomUUID } from "node:crypto";
import {
  alertMatches,
  formatAlertMatcher,
  parseAlertMatcher,
  VigilError,
  type Alert,
  type AlertMatcher,
  type ConfigSilence,
  type Keyspace,
} from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import { z } from "zod";

/** A silence as stored (matchers as written, times ISO-8601). */
const SilenceSchema = z.object({
  id: z.string(),
  match: z.array(z.string()).min(1),
  author: z.string(),
  reason: z.string().min(1),
  createdAt: z.string(),
  /** Alerts raised from this time on are silenced (the creation time, unless the config says). */
  startsAt: z.string(),
  endsAt: z.string(),
  /** Set by `vigil silence expire`. */
  expiredAt: z.string().optional(),
  origin: z.enum(["cli", "config"]),
});
export type Silence = z.infer<typeof SilenceSchema>;

/** A silence's matchers, parsed once. */
export interface ActiveSilence {
  silence: Silence;
  matchers: AlertMatcher[];
}

/** A silence refused before it is stored: no reason, no expiry, a bad matcher or time. */
export class SilenceInputError extends VigilError {
  constructor(message: string) {
    super("SILENCE_INVALID", message, {});
  }
}

export interface NewSilence {
  match: readonly string[];
  reason?: string | undefined;
  author?: string | undefined;
  /** How long from now (ms); or `until`. */
  forMs?: number | undefined;
  until?: string | undefined;
}

/** Silences in Redis (`vigil silence …`) and in the config, which the alerts worker checks each alert against. */
export class SilenceStore {
  private readonly fromConfig: Silence[];

  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    configSilences: readonly ConfigSilence[] = [],
  ) {
    this.fromConfig = configSilences.map(configSilence);
  }

  private get key(): string {
    return this.keyspace.key("silences");
  }

  /** Checks and stores a silence; refuses one without a reason, an expiry, or with a bad matcher. */
  async add(input: NewSilence, now = new Date()): Promise<Silence> {
    const reason = input.reason?.trim();
    if (!reason) throw new SilenceInputError('a silence needs a reason: --reason "planned migration of …"');
    if (!input.match.length) throw new SilenceInputError("a silence needs at least one --match field=value");
    const matchers = input.match.map((text) => {
      try {
        return formatAlertMatcher(parseAlertMatcher(text));
      } catch (err) {
        throw new SilenceInputError(`--match ${(err as Error).message}`);
      }
    });
    if ((input.forMs === undefined) === (input.until === undefined))
      throw new SilenceInputError("a silence needs an expiry: --for <duration> (e.g. 2h) or --until <ISO time>");
    const endsMs = input.forMs !== undefined ? now.getTime() + input.forMs : Date.parse(input.until ?? "");
    if (!Number.isFinite(endsMs)) throw new SilenceInputError(`--until "${input.until}" is not an ISO-8601 time`);
    if (endsMs <= now.getTime()) throw new SilenceInputError(`--until ${input.until} is not in the future`);
    const silence: Silence = {
      id: randomUUID(),
      match: matchers,
      author: input.author?.trim() || "unknown",
      reason,
      createdAt: now.toISOString(),
      startsAt: now.toISOString(),
      endsAt: new Date(endsMs).toISOString(),
      origin: "cli",
    };
    await this.redis.hset(this.key, silence.id, JSON.stringify(silence));
    return silence;
  }

  /** Ends a silence now; returns it, or undefined when there is none of that id (config silences end in git). */
  async expire(id: string, now = new Date()): Promise<Silence | undefined> {
    const raw = await this.redis.hget(this.key, id);
    if (raw === null) return undefined;
    const silence = SilenceSchema.parse(JSON.parse(raw));
    if (Date.parse(silence.endsAt) > now.getTime()) {
      silence.endsAt = now.toISOString();
      silence.expiredAt = now.toISOString();
      await this.redis.hset(this.key, id, JSON.stringify(silence));
    }
    return silence;
  }

  /** Every silence, config ones first, then stored ones by creation. */
  async list(): Promise<Silence[]> {
    const stored = Object.values(await this.redis.hgetall(this.key)).flatMap((raw) => {
      const parsed = SilenceSchema.safeParse(JSON.parse(raw));
      return parsed.success ? [parsed.data] : [];
    });
    return [...this.fromConfig, ...stored.sort((a, b) => a.createdAt.localeCompare(b.createdAt))];
  }

  /** Silences that can still apply to an alert raised at or after `since`. */
  async relevant(since: number): Promise<ActiveSilence[]> {
    return (await this.list())
      .filter((silence) => Date.parse(silence.endsAt) > since)
      .map((silence) => ({ silence, matchers: silence.match.map(parseAlertMatcher) }));
  }

  /** The silence that mutes this alert: one active when the alert was raised, whose matchers all hold. */
  async silencing(alert: Alert): Promise<Silence | undefined> {
    const raised = Date.parse(alert.createdAt);
    return (await this.relevant(raised)).find(
      ({ silence, matchers }) =>
        Date.parse(silence.startsAt) <= raised && raised < Date.parse(silence.endsAt) && alertMatches(matchers, alert),
    )?.silence;
  }
}

/** A config silence gets an id from its content, stable across restarts and replicas. */
function configSilence(silence: ConfigSilence): Silence {
  const match = silence.match.map(formatAlertMatcher);
  const id = `config-${createHash("sha256")
    .update(JSON.stringify([match, silence.reason, silence.startsAt, silence.endsAt]))
    .digest("hex")
    .slice(0, 12)}`;
  return {
    id,
    match,
    author: silence.author,
    reason: silence.reason,
    createdAt: silence.startsAt ?? new Date(0).toISOString(),
    startsAt: silence.startsAt ?? new Date(0).toISOString(),
    endsAt: new Date(Date.parse(silence.endsAt)).toISOString(),
    origin: "config",
  };
}
