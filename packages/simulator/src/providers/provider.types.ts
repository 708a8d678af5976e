import type { z } from "zod";
import type { AshbyAuditLogEntry } from "./ashby/ashby.records.js";
import type { AshbyCredentials } from "./ashby/ashby.provider.js";
import type { BloodHoundAuditLog } from "./bloodhound/bloodhound.records.js";
import type { BloodHoundCredentials } from "./bloodhound/bloodhound.provider.js";
import type { LogfireAuditLog, LogfireAuditLogDetail } from "./logfire/logfire.records.js";
import type { LogfireCredentials } from "./logfire/logfire.provider.js";
import type { PylonAuditLog } from "./pylon/pylon.records.js";
import type { PylonCredentials } from "./pylon/pylon.provider.js";
import type { RecordDraft } from "./shared/draft-merge.js";
import type { SimRequest, SimResponse } from "./shared/http-kit.js";
import type { InstantPrecision } from "./shared/instant.js";
import type { RateLimitSetting, RateLimitVerdict } from "./shared/rate-limiter.js";
import type { RecordStore } from "./shared/record-store.js";
import type { ZendeskAuditLog } from "./zendesk/zendesk.records.js";
import type { ZendeskCredentials } from "./zendesk/zendesk.provider.js";

export const PROVIDER_NAMES = ["pylon", "zendesk", "ashby", "logfire", "bloodhound"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** True for a provider this simulator fakes. */
export function isSimulatedProvider(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

/** Per provider: the record its list endpoint serves, the record kept (with detail-only fields), its credentials. */
interface ProviderTypeMap {
  pylon: { record: PylonAuditLog; stored: PylonAuditLog; credentials: PylonCredentials };
  zendesk: { record: ZendeskAuditLog; stored: ZendeskAuditLog; credentials: ZendeskCredentials };
  ashby: { record: AshbyAuditLogEntry; stored: AshbyAuditLogEntry; credentials: AshbyCredentials };
  logfire: { record: LogfireAuditLog; stored: LogfireAuditLogDetail; credentials: LogfireCredentials };
  bloodhound: { record: BloodHoundAuditLog; stored: BloodHoundAuditLog; credentials: BloodHoundCredentials };
}

/** A record in the provider's native shape, exactly as its list endpoint serves it. */
export type ProviderRecord<P extends ProviderName> = ProviderTypeMap[P]["record"];
/** Any provider's raw record. */
export type RawRecord = ProviderRecord<ProviderName>;
/** A record with the fields only a detail endpoint serves (Logfire's `downgrade_patches`, `metadata`). */
export type StoredRecord<P extends ProviderName> = ProviderTypeMap[P]["stored"];
/** A partial record for `append` and `storyRecords`: what it leaves out is generated. */
export type ProviderRecordDraft<P extends ProviderName> = RecordDraft<StoredRecord<P>>;
export type ProviderCredentials<P extends ProviderName> = ProviderTypeMap[P]["credentials"];

/** Which end of the feed a list endpoint starts from when the client does not choose. */
export type FeedOrder = "oldest-first" | "newest-first";

/** Builds a provider's records; holds the generator state (ids, people) between calls. */
export interface RecordFactory<TStored> {
  /** Exactly `count` records with times in [startUs, endUs], oldest first. */
  generate(count: number, startUs: number, endUs: number): TStored[];
  /**
   * The records one draft stands for, at `timeUs` unless the draft names its own time:
   * one record, or for BloodHound an `intent` row followed by its outcome row.
   */
  fromDraft(draft: Record<string, unknown>, timeUs: number): TStored[];
}

/** How a provider's records are timed, identified, validated and built. */
export interface RecordKit<P extends ProviderName> {
  readonly precision: InstantPrecision;
  /** The schema every stored record satisfies (its key order is the wire order); drafts are checked against it once filled in. */
  readonly schema: z.ZodObject;
  /** The instant that orders the feed, in microseconds. */
  timeOf(record: StoredRecord<P>): number;
  withTime(record: StoredRecord<P>, timeUs: number): StoredRecord<P>;
  idOf(record: StoredRecord<P>): string;
  /** The time a draft names for itself, if any (invalid times are left to the schema check). */
  draftTimeUs(draft: Record<string, unknown>): number | undefined;
  /** The record as the list endpoint serves it. */
  toListed(record: StoredRecord<P>): ProviderRecord<P>;
  createFactory(context: { seed: number; baseUrl: string }): RecordFactory<StoredRecord<P>>;
}

/** What authentication decided: the caller's identity (rate-limit key), or the provider's refusal. */
export type AuthOutcome = { ok: true; principal: string } | { ok: false; response: SimResponse };

/** A running provider: its data and settings, as routes see them. */
export interface ProviderRuntime<P extends ProviderName> {
  readonly name: P;
  readonly store: RecordStore<StoredRecord<P>>;
  readonly credentials: ProviderCredentials<P>;
  /** What `baseUrl(provider)` returns, e.g. `http://127.0.0.1:41234/zendesk`. */
  readonly baseUrl: string;
  readonly order: FeedOrder;
  /** Adds records now, as if the provider's own application had written them. */
  appendDrafts(drafts: Record<string, unknown>[]): StoredRecord<P>[];
}

interface RouteContext<P extends ProviderName> {
  /** Capture groups of the route's path pattern. */
  params: string[];
  runtime: ProviderRuntime<P>;
  principal: string;
}

export interface ProviderRoute<P extends ProviderName> {
  method: string;
  /** Matched against the path without the routing prefix; capture groups become `params`. */
  path: RegExp;
  /** The rate-limit bucket; each endpoint has its own budget. */
  endpoint: string;
  /** The documented limit of this endpoint (the `rateLimit` option overrides it). */
  rateLimit: RateLimitSetting;
  handle(request: SimRequest, context: RouteContext<P>): SimResponse | Promise<SimResponse>;
}

/** Everything the shared server needs to simulate one provider. */
export interface ProviderDefinition<P extends ProviderName> {
  readonly name: P;
  /** The part of the real base URL after the host, e.g. `/api` for Logfire; `""` for most. */
  readonly basePath: string;
  readonly defaultCredentials: ProviderCredentials<P>;
  readonly credentialsSchema: z.ZodType<Partial<ProviderCredentials<P>>>;
  readonly defaultOrder: FeedOrder;
  /**
   * `client-address`: limited before authentication, per caller IP (BloodHound's tollbooth);
   * `account`: after authentication, one budget per endpoint bucket for the whole account.
   */
  readonly rateLimitScope: "client-address" | "account";
  readonly records: RecordKit<P>;
  readonly routes: readonly ProviderRoute<P>[];
  /** Field names a malformed-record fault may drop from a served record. */
  readonly requiredFields: readonly string[];
  authenticate(request: SimRequest, runtime: ProviderRuntime<P>): AuthOutcome;
  notFound(request: SimRequest): SimResponse;
  serverError(request: SimRequest): SimResponse;
  tooManyRequests(request: SimRequest, verdict: RateLimitVerdict): SimResponse;
  /** Headers on every response that went through the limiter (remaining budget and the like). */
  rateLimitHeaders?(verdict: RateLimitVerdict, request: SimRequest): Record<string, string>;
  /** Runs before anything else and may answer at once (BloodHound's `Prefer` header check). */
  preflight?(request: SimRequest): SimResponse | undefined;
  /** Last touch on every response (request-id headers and the like). */
  finalize?(request: SimRequest, response: SimResponse): SimResponse;
  /** The records inside a successful response body, for the malformed-record fault. */
  recordsInBody(body: unknown): Record<string, unknown>[] | undefined;
}
