import type { AuditEvent, Keyspace, Logger, RateLimit } from "@vigil/core";
import { z } from "zod";
import type { HttpClient, HttpClientOptions } from "./http-client.js";

/**
 * Where a source's next pull starts. Opaque to everything but its connector, JSON-serializable,
 * stored per source by the checkpoint store.
 */
export type Checkpoint = Record<string, unknown>;

/** Validates a checkpoint read back from storage (any JSON object). */
export const CheckpointSchema = z.record(z.string(), z.unknown());

/** The most of a refused record's text that is kept (UTF-8 bytes); the quarantine cuts the rest. */
export const REFUSED_RECORD_BYTES = 64 * 1024;

/**
 * A record the connector refused (unparsable, missing or invalid fields): it is quarantined with
 * its position and reason, and the pull goes on past it.
 */
export interface RefusedRecord {
  /** Where it sits: `path:line` for a file, the provider page (endpoint and cursor or window) otherwise. */
  position: string;
  /** Why it was refused, as the acceptance rule or the record schema says. */
  reason: string;
  /** The field at fault, when one is. */
  field?: string;
  /** The record as received: the line, or the provider's JSON. */
  raw: string;
  /** How it is re-parsed on retry: a JSON line (core's `acceptEventLine`), a normalized event (`acceptEvent`), or a provider record. */
  format: "event-line" | "event" | "provider-record";
  /** What makes it the same record when read again (a file position, a provider record id); else its text. */
  identity?: string;
}

/** One page of a pull: events and where to resume once they are queued. */
export interface SourcePage {
  /**
   * Normalized events, oldest first (connectors for newest-first APIs reverse what they fetch;
   * the file connector keeps file order). May be empty when only the checkpoint moved.
   */
  events: AuditEvent[];
  /** Where to resume once this page's events, and all pages before it, are queued. */
  checkpoint: Checkpoint;
  /** Records of this page the connector refused; quarantined before the checkpoint moves past them. */
  refused?: RefusedRecord[];
  /**
   * The source's watermark once this page is queued (ms): an event time below which it will
   * deliver nothing more (a time-windowed source: its checkpoint minus its lookback). Absent when
   * the connector cannot say (the file source); the engine then goes by the events delivered.
   */
  watermark?: number;
  /** How far the pull got once this page is queued: logged, and shown by `vigil status`. */
  progress?: PullProgress;
}

/** How far a pull got: what `vigil status` shows of a long backfill. */
export interface PullProgress {
  /** The window being read, `[start, end)` in ISO-8601 (time-windowed sources). */
  window?: { start: string; end: string };
  /** Records this pull read so far (kept or refused, before deduplication). */
  recordsRead: number;
  /** Records left to read, estimated from the density seen so far; absent until there is one. */
  estimatedRemaining?: number;
}

/** What a pull is given besides its checkpoint. */
export interface PullOptions {
  /** Aborted when the pull must stop (shutdown, lost lock); connectors stop at the next await. */
  signal: AbortSignal;
  /** The pull's notion of "now", for time windows (`end = now - lag`); fixed for the whole pull. */
  now: Date;
  /**
   * Pull this span only, ignoring the checkpoint: from `since` up to `now` (`vigil sources pull`).
   * The pages' checkpoints are then not meant to be stored.
   */
  since?: Date;
}

/** The narrow contract every source type implements (one folder per provider). */
export interface Connector {
  /** The configured source's name, e.g. `zendesk-prod`. */
  readonly source: string;
  /** The provider (or source type) this connector speaks to, e.g. `zendesk` or `file`. */
  readonly provider: string;
  /**
   * Pages from the checkpoint on (`undefined` = first run). Each page's checkpoint is where to
   * resume once its events and all before them are queued. Throws ConnectorError (naming source,
   * page and field) on a malformed page, after yielding every good page before it.
   */
  pull(from: Checkpoint | undefined, options: PullOptions): AsyncIterable<SourcePage>;
  /**
   * The checkpoint from which the next pull reads the records of `time` and later
   * (`vigil sources reset <name> --to <time>`); absent where a source cannot be placed by time.
   */
  checkpointAt?(time: Date, options?: { signal?: AbortSignal }): Promise<Checkpoint>;
  /** One cheap request (or file access) proving credentials and reachability; throws ConnectorError. */
  check(options?: { signal?: AbortSignal }): Promise<void>;
}

/** Options a connector passes to {@link ConnectorDeps.createHttpClient}. */
export type ConnectorHttpOptions = Omit<HttpClientOptions, "logger" | "rateLimiter"> & {
  /**
   * Client-side rate limit shared by every replica, per credential. `credentialId` names the
   * credential (it is hashed before use in a key, but prefer a non-secret id such as the org).
   */
  rateLimit?: RateLimit & { credentialId: string };
  /** Defaults to the deps' logger with `source` bound. */
  logger?: Logger;
};

/** What a connector factory gets besides its source config. */
export interface ConnectorDeps {
  /** Builds the one HTTP client, wiring in the logger and, given `rateLimit`, a Redis-backed limiter. */
  createHttpClient(options: ConnectorHttpOptions): HttpClient;
  /** Names every Redis key a connector writes. */
  keyspace: Keyspace;
  /** Logger; connectors bind `source` on a child. */
  logger: Logger;
}

/** Builds a connector for one configured source. */
export type ConnectorFactory<C> = (config: C, deps: ConnectorDeps) => Connector;
