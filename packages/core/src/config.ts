import { z } from "zod";
import { DurationSchema } from "./duration.js";
import { SeveritySchema } from "./rule.js";

const NameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only");

export const RedisConfigSchema = z.strictObject({
  url: z.string().default("redis://127.0.0.1:6379"),
  /** Every key Vigil writes starts with `{prefix}:` (a Redis Cluster hash tag). */
  prefix: NameSchema.default("vigil"),
});

/** Settings every source takes, whatever its provider. */
const SourceBaseShape = {
  name: NameSchema,
  pollInterval: DurationSchema.prefault("1m"),
  enabled: z.boolean().default(true),
  /** Events per `vigil-events` job. */
  batchSize: z.number().int().min(1).max(1000).default(200),
};

/** Tails a JSON-lines file of AuditEvents (one event per line). */
export const FileSourceSchema = z.strictObject({
  ...SourceBaseShape,
  type: z.literal("file"),
  path: z.string().min(1),
});

const HttpsUrlSchema = z.url({ protocol: /^https?$/ }).describe("http(s) URL, e.g. https://acme.zendesk.com");

export const RateLimitConfigSchema = z.strictObject({
  requests: z.number().int().min(1),
  per: DurationSchema,
});
export type RateLimitConfig = z.infer<typeof RateLimitConfigSchema>;

/** Settings every provider (HTTP API) source takes. */
const ProviderSourceShape = {
  ...SourceBaseShape,
  /** Overrides the provider's default host (self-hosted, regional, or a local simulator). */
  baseUrl: HttpsUrlSchema.optional(),
  /** How far back the first run reaches. */
  startFrom: DurationSchema.prefault("7d"),
  /** How far each run re-reads behind its checkpoint, for records that appear late. */
  lookback: DurationSchema.prefault("10m"),
  /** Records per request; default: the provider's documented maximum. */
  pageSize: z.number().int().min(1).max(10_000).optional(),
  /** Requests per span, shared by every replica using the same credential; default: the documented limit. */
  rateLimit: RateLimitConfigSchema.optional(),
  /** Per-request timeout. */
  timeout: DurationSchema.prefault("30s"),
};

const SecretSchema = z.string().min(1);

export const PylonSourceSchema = z.strictObject({
  ...ProviderSourceShape,
  type: z.literal("pylon"),
  auth: z.strictObject({ token: SecretSchema }),
});

export const ZendeskSourceSchema = z.strictObject({
  ...ProviderSourceShape,
  type: z.literal("zendesk"),
  baseUrl: HttpsUrlSchema.describe("the account's https://<subdomain>.zendesk.com"),
  auth: z.union([z.strictObject({ email: z.string().min(1), token: SecretSchema }), z.strictObject({ oauthToken: SecretSchema })]),
});

export const AshbySourceSchema = z.strictObject({
  ...ProviderSourceShape,
  type: z.literal("ashby"),
  auth: z.strictObject({ apiKey: SecretSchema }),
});

export const LogfireSourceSchema = z.strictObject({
  ...ProviderSourceShape,
  type: z.literal("logfire"),
  region: z.enum(["us", "eu"]).default("us"),
  auth: z.strictObject({ token: SecretSchema }),
});

export const BloodhoundSourceSchema = z.strictObject({
  ...ProviderSourceShape,
  type: z.literal("bloodhound"),
  baseUrl: HttpsUrlSchema.describe("the BloodHound instance, e.g. https://bloodhound.example.com"),
  auth: z.union([z.strictObject({ tokenId: z.string().min(1), tokenKey: SecretSchema }), z.strictObject({ jwt: SecretSchema })]),
});

export const SourceConfigSchema = z.discriminatedUnion("type", [
  FileSourceSchema,
  PylonSourceSchema,
  ZendeskSourceSchema,
  AshbySourceSchema,
  LogfireSourceSchema,
  BloodhoundSourceSchema,
]);
export type SourceConfig = z.infer<typeof SourceConfigSchema>;
export type FileSourceConfig = z.infer<typeof FileSourceSchema>;
export type PylonSourceConfig = z.infer<typeof PylonSourceSchema>;
export type ZendeskSourceConfig = z.infer<typeof ZendeskSourceSchema>;
export type AshbySourceConfig = z.infer<typeof AshbySourceSchema>;
export type LogfireSourceConfig = z.infer<typeof LogfireSourceSchema>;
export type BloodhoundSourceConfig = z.infer<typeof BloodhoundSourceSchema>;
export type ProviderSourceConfig = Exclude<SourceConfig, FileSourceConfig>;
export const PROVIDERS = ["pylon", "zendesk", "ashby", "logfire", "bloodhound"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const EmailChannelSchema = z.strictObject({
  name: NameSchema,
  type: z.literal("email"),
  from: z.string().min(1),
  to: z.array(z.string().min(1)).min(1),
  smtp: z.strictObject({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false),
    /** Skip TLS certificate checks (local test servers only). */
    insecure: z.boolean().default(false),
    auth: z.strictObject({ user: z.string(), pass: z.string() }).optional(),
    timeout: DurationSchema.prefault("30s"),
  }),
});

export const WebhookChannelSchema = z.strictObject({
  name: NameSchema,
  type: z.literal("webhook"),
  url: z.url(),
  /** Standard Webhooks secret, `whsec_` followed by base64. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, "a Standard Webhooks secret: whsec_ followed by base64"),
  timeout: DurationSchema.prefault("10s"),
  headers: z.record(z.string(), z.string()).default({}),
});

export const ChannelConfigSchema = z.discriminatedUnion("type", [EmailChannelSchema, WebhookChannelSchema]);
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;
export type EmailChannelConfig = z.infer<typeof EmailChannelSchema>;
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;

export const RouteConfigSchema = z.strictObject({
  /** Every listed criterion must hold; an empty match takes every alert. */
  match: z
    .strictObject({
      severity: z.array(SeveritySchema).optional(),
      ruleIds: z.array(z.string()).optional(),
      tags: z.array(z.string()).optional(),
    })
    .prefault({}),
  channels: z.array(NameSchema).min(1),
});
export type RouteConfig = z.infer<typeof RouteConfigSchema>;

export const ConfigSchema = z
  .strictObject({
    redis: RedisConfigSchema.prefault({}),
    sources: z.array(SourceConfigSchema).default([]),
    rules: z.strictObject({ paths: z.array(z.string()).default(["rules"]) }).prefault({}),
    channels: z.array(ChannelConfigSchema).default([]),
    routes: z.array(RouteConfigSchema).default([]),
    engine: z
      .strictObject({
        /** Parallel `vigil-events` jobs per worker. */
        concurrency: z.number().int().min(1).max(64).default(8),
        /** How long an event id is remembered to drop redeliveries. */
        dedupFor: DurationSchema.prefault("24h"),
      })
      .prefault({}),
    notifier: z
      .strictObject({
        concurrency: z.number().int().min(1).max(64).default(8),
        /** Delivery attempts before a delivery is kept as failed. */
        attempts: z.number().int().min(1).max(50).default(8),
        /** First retry delay; doubles each attempt. */
        backoff: DurationSchema.prefault("2s"),
      })
      .prefault({}),
    server: z
      .strictObject({
        host: z.string().default("0.0.0.0"),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const unique = (items: { name: string }[], key: string) => {
      const seen = new Set<string>();
      items.forEach((item, i) => {
        if (seen.has(item.name)) ctx.addIssue({ code: "custom", path: [key, i, "name"], message: `duplicate ${key} name "${item.name}"` });
        seen.add(item.name);
      });
    };
    unique(config.sources, "sources");
    unique(config.channels, "channels");
    const channelNames = new Set(config.channels.map((c) => c.name));
    config.routes.forEach((route, i) =>
      route.channels.forEach((name, j) => {
        if (!channelNames.has(name)) ctx.addIssue({ code: "custom", path: ["routes", i, "channels", j], message: `unknown channel "${name}"` });
      }),
    );
  });
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
