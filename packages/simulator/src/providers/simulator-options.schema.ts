import { z } from "zod";
import { AshbyCredentialsSchema, DEFAULT_ASHBY_CREDENTIALS } from "./ashby/ashby.provider.js";
import { BloodHoundCredentialsSchema, DEFAULT_BLOODHOUND_CREDENTIALS } from "./bloodhound/bloodhound.provider.js";
import { DEFAULT_LOGFIRE_CREDENTIALS, LogfireCredentialsSchema } from "./logfire/logfire.provider.js";
import {
  PROVIDER_NAMES,
  type ProviderCredentials,
  type ProviderName,
  type ProviderRecordDraft,
} from "./provider.types.js";
import { DEFAULT_PYLON_CREDENTIALS, PylonCredentialsSchema } from "./pylon/pylon.provider.js";
import { FaultSettingsSchema, type FaultSettings } from "./shared/fault-injector.js";
import { RateLimitSettingSchema, type RateLimitSetting } from "./shared/rate-limiter.js";
import { DEFAULT_ZENDESK_CREDENTIALS, ZendeskCredentialsSchema } from "./zendesk/zendesk.provider.js";

export const ProviderNameSchema = z.enum(PROVIDER_NAMES);

/** The credentials each simulated provider accepts unless `credentials` says otherwise. */
export const DEFAULT_PROVIDER_CREDENTIALS: { readonly [P in ProviderName]: ProviderCredentials<P> } = {
  pylon: DEFAULT_PYLON_CREDENTIALS,
  zendesk: DEFAULT_ZENDESK_CREDENTIALS,
  ashby: DEFAULT_ASHBY_CREDENTIALS,
  logfire: DEFAULT_LOGFIRE_CREDENTIALS,
  bloodhound: DEFAULT_BLOODHOUND_CREDENTIALS,
};

export const DEFAULT_RECORD_COUNT = 300;
export const DEFAULT_SPAN_DAYS = 7;

export const ProviderSimulatorOptionsSchema = z
  .strictObject({
    providers: z.array(ProviderNameSchema).min(1).optional(),
    host: z.string().min(1).default("127.0.0.1"),
    port: z.int().min(0).max(65_535).default(0),
    seed: z.int().default(1),
    records: z.partialRecord(ProviderNameSchema, z.int().min(0).max(200_000)).default({}),
    start: z.date().optional(),
    end: z.date().optional(),
    faults: FaultSettingsSchema.optional(),
    rateLimit: z.partialRecord(ProviderNameSchema, RateLimitSettingSchema).default({}),
    credentials: z
      .strictObject({
        pylon: PylonCredentialsSchema.partial().optional(),
        zendesk: ZendeskCredentialsSchema.partial().optional(),
        ashby: AshbyCredentialsSchema.partial().optional(),
        logfire: LogfireCredentialsSchema.partial().optional(),
        bloodhound: BloodHoundCredentialsSchema.partial().optional(),
      })
      .default({}),
    storyRecords: z.partialRecord(ProviderNameSchema, z.array(z.record(z.string(), z.unknown()))).default({}),
    pylon: z.strictObject({ order: z.enum(["oldest-first", "newest-first"]).optional() }).default({}),
  })
  .refine((o) => !o.start || !o.end || o.start.getTime() < o.end.getTime(), {
    message: "start must be before end",
    path: ["start"],
  });

/** Options of `startProviderSimulator`; everything is optional. */
export interface ProviderSimulatorOptions {
  /** The providers to simulate; all five by default. */
  providers?: ProviderName[];
  /** Interface to listen on; `127.0.0.1` by default. */
  host?: string;
  /** One server for all providers, routed by path prefix; 0 (default) picks a free port. */
  port?: number;
  /** Seed of every generated record and, unless `faults.seed` is set, of the fault sequence. Default 1. */
  seed?: number;
  /** Generated records per provider (BloodHound counts rows, intent rows included); 300 by default. */
  records?: Partial<Record<ProviderName, number>>;
  /** Time span of the generated records; by default the 7 days ending at start-up. */
  start?: Date;
  end?: Date;
  faults?: FaultSettings;
  /** Replaces a provider's documented limits (for every endpoint of it, each keeping its own budget). */
  rateLimit?: Partial<Record<ProviderName, RateLimitSetting>>;
  /** Accepted credentials, merged over `DEFAULT_PROVIDER_CREDENTIALS`. */
  credentials?: { [P in ProviderName]?: Partial<ProviderCredentials<P>> };
  /**
   * Records planted at start-up after the generated ones (an attack story for the demo): partial
   * raw records, the rest generated. Without a time of their own they come after the generated
   * data, one second apart, in the order given.
   */
  storyRecords?: { [P in ProviderName]?: ProviderRecordDraft<P>[] };
  /** Pylon does not document its order; oldest first by default. */
  pylon?: { order?: "oldest-first" | "newest-first" };
}
