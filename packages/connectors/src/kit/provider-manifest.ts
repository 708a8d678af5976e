import type { ActionVocabulary, RateLimit, SourceConfigBase } from "@vigil/core";
import type { z } from "zod";
import type { ConnectorFactory } from "./connector.js";

/**
 * Everything Vigil knows about one source type, exported by its folder and listed once in
 * `providers/registry.ts`: the config schema, the factory, and for HTTP providers their
 * documented limits and how the provider simulator's credentials become a source's `auth`.
 */
export interface SourceManifest<S extends z.ZodType<SourceConfigBase, unknown> = z.ZodType<SourceConfigBase, unknown>> {
  /** The `type` of its sources in config, e.g. `zendesk`. */
  readonly type: z.infer<S>["type"];
  /** Its sources' config schema (strict, with `type: z.literal(type)`); one branch of the config's `sources`. */
  readonly configSchema: S;
  /** Builds the connector for one configured source. */
  readonly create: ConnectorFactory<z.infer<S>>;
  /** Set for HTTP API providers (not for the `file` source). */
  readonly provider?: ProviderTraits;
  /**
   * How its watermark advances, also while it is quiet (listed in the README): every source type
   * must move it without new events, or one quiet source would hold back every rule reading it.
   */
  readonly watermark: string;
  /** The provider its sources' events carry, when one (default: the type, for HTTP providers). */
  providerOf?(config: z.infer<S>): string | undefined;
}

/** What an HTTP API provider adds to its manifest. */
export interface ProviderTraits {
  /**
   * The documented request budget (the default `rateLimit`), largest page (`undefined` where the
   * API has no pages), and for APIs queried by time window the longest span one query may cover
   * (`timeWindows.maxMs`, `undefined` where none is documented).
   */
  readonly limits: {
    readonly rateLimit: RateLimit;
    readonly maxPageSize: number | undefined;
    readonly timeWindows?: { readonly maxMs: number | undefined };
  };
  /**
   * A source's `auth` from the provider simulator's credentials of this provider; `secret` wraps
   * each secret value (tests pass one that corrupts it, to prove a wrong credential is refused).
   */
  simulatorAuth(
    credentials: Readonly<Record<string, string>>,
    secret?: (value: string) => string,
  ): Record<string, string>;
  /**
   * The actions its audit log records, as the connector normalizes them (action, category,
   * outcomes): what rules are checked against and `vigil providers actions` lists.
   */
  readonly vocabulary: ActionVocabulary;
  /**
   * How a backfill reads its list endpoint (the README's backfill table lists it): where a
   * documented parameter lists oldest first, pages are queued one by one and the checkpoint moves
   * with each (nothing held); otherwise why not, and the most records a pull holds by default
   * before it queues them (`windowRecords`, configurable per source).
   */
  readonly listing: ProviderListing;
  /** A small page size for the conformance suite, so a few hundred records span many pages (`undefined`: no pages). */
  readonly conformancePageSize: number | undefined;
}

/** How a provider's list endpoint is read for a backfill. */
type ProviderListing =
  | { readonly oldestFirst: true /** The documented parameter that lists oldest first. */; readonly how: string }
  | {
      readonly oldestFirst: false;
      /** Why its pages cannot be queued one by one. */
      readonly why: string;
      /** Records a pull holds at most before queuing them, unless the source sets `windowRecords`. */
      readonly windowRecords: number;
    };

/** Checks a manifest's pieces against each other (the factory takes what the schema makes). */
export const defineSource = <S extends z.ZodType<SourceConfigBase, unknown>>(
  manifest: SourceManifest<S>,
): SourceManifest<S> => manifest;
