import {
  AllowInsecureHttpSchema,
  DurationSchema,
  HttpsUrlSchema,
  RateLimitConfigSchema,
  refuseInsecureHttp,
  SOURCE_BASE_SHAPE,
} from "@vigil/core";
import { z } from "zod";

/** Settings every provider (HTTP API) source takes; each provider's config schema spreads it. */
export const PROVIDER_SOURCE_SHAPE = {
  ...SOURCE_BASE_SHAPE,
  /** Overrides the provider's default host (self-hosted, regional, or a local simulator). */
  baseUrl: HttpsUrlSchema.optional(),
  /** Accept an `http://` baseUrl (a local simulator); otherwise it is refused at config load. */
  allowInsecureHttp: AllowInsecureHttpSchema,
  /** How far back the first run reaches. */
  startFrom: DurationSchema.prefault("7d"),
  /** How far each run re-reads behind its checkpoint, for records that appear late. */
  lookback: DurationSchema.prefault("10m"),
  /**
   * The most records a pull holds in memory before it queues them and moves the checkpoint, where
   * the provider cannot list oldest first (see the provider table): time windows are sized from the
   * density seen to hold at most this many, so a restart loses at most one window's requests.
   * Default: the provider's (5,000; Ashby 1,000; Pylon 2,000; BloodHound 20,000), about five seconds of reading at
   * its documented rate. Ignored where pages are queued one by one (Zendesk).
   */
  windowRecords: z.number().int().min(100).max(1_000_000).optional(),
  /** Records per request; default: the provider's documented maximum. */
  pageSize: z.number().int().min(1).max(10_000).optional(),
  /** Requests per span, shared by every replica using the same credential; default: the documented limit. */
  rateLimit: RateLimitConfigSchema.optional(),
  /** Per-request timeout. */
  timeout: DurationSchema.prefault("30s"),
  /** Largest response body read, in MiB; a larger page fails the pull with an error naming it. */
  maxResponseMiB: z.number().int().min(1).max(1024).default(32),
};

/** Every provider schema's refinement: an `http://` baseUrl only with `allowInsecureHttp: true`. */
export const refuseInsecureBaseUrl = refuseInsecureHttp("baseUrl");
