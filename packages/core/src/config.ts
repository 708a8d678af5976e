import { RE2JS } from "re2js";
import { z } from "zod";
import { AlertMatcherSchema, parseAlertMatcher, type AlertMatcher } from "./alert-matcher.js";
import { DurationSchema } from "./duration.js";
import { SeveritySchema } from "./rule.js";

/** Events per `vigil-events` job for a source whose config does not say. */
export const DEFAULT_EVENT_BATCH_SIZE = 200;

/**
 * Most bytes of events (as JSON) in one `vigil-events` job: a page's events are split into more
 * jobs past it, so an engine never holds `batchSize` events of the largest size at once. One event
 * always fits: `EVENT_LIMITS.eventChars` (1 Mi characters) is at most ~3 MiB of UTF-8 JSON.
 */
export const MAX_EVENT_BATCH_BYTES = 8 * 2 ** 20;

export const NameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only");

/** `host:port` of one Redis node or Sentinel (an IPv6 address in brackets: `[::1]:6379`). */
export const RedisNodeSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}$/, "expected host:port, e.g. 10.0.0.5:6379")
  .describe("host:port");

/**
 * TLS towards Redis beyond `rediss://`'s defaults: files are read when connecting. With `cluster`
 * or `sentinel`, setting `tls` is what turns TLS on for the data nodes.
 */
export const RedisTlsSchema = z
  .strictObject({
    /** PEM file of the CA(s) that signed the servers' certificates (default: Node's trusted CAs). */
    caFile: z.string().min(1).optional(),
    /** PEM files of a client certificate and its private key, for servers that ask for one (`tls-auth-clients`). */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** The name the servers' certificates must carry when it is not the host connected to (SNI and the check). */
    servername: z.string().min(1).optional(),
  })
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
    message: "certFile and keyFile go together (a client certificate and its key)",
  });

/** A Redis Cluster: the seed nodes Vigil asks for the slot map (any few masters or replicas). */
export const RedisClusterSchema = z.strictObject({
  nodes: z.array(RedisNodeSchema).min(1),
  /** ACL user and password of the data nodes (`${file:…}` or `${ENV}` keeps the password out of the file). */
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
});

/** A primary and its replicas watched by Sentinels: Vigil asks the Sentinels where the master of `masterName` is. */
export const RedisSentinelSchema = z.strictObject({
  sentinels: z.array(RedisNodeSchema).min(1),
  masterName: z.string().min(1),
  /** ACL user and password of the master (and replicas). */
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  /** The Sentinels' own credentials (`requirepass` in sentinel.conf), when they have them. */
  sentinelUsername: z.string().min(1).optional(),
  sentinelPassword: z.string().min(1).optional(),
  /** TLS towards the Sentinels too (with `redis.tls`'s files); the master gets TLS when `redis.tls` is set. */
  sentinelTls: z.boolean().default(false),
  db: z.number().int().min(0).default(0),
});

const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/**
 * Where Redis is: a standalone server (`url`, the default), a Redis Cluster (`cluster`), or a
 * primary behind Sentinels (`sentinel`). One of `cluster` and `sentinel` at most; `url` is then unused.
 */
export const RedisConfigSchema = z
  .strictObject({
    // Checked when connecting, which names a malformed URL without repeating its password.
    url: z.string().default(DEFAULT_REDIS_URL),
    cluster: RedisClusterSchema.optional(),
    sentinel: RedisSentinelSchema.optional(),
    tls: RedisTlsSchema.optional(),
    /** Every key Vigil writes starts with `{prefix}:` (a Redis Cluster hash tag). */
    prefix: NameSchema.default("vigil"),
  })
  .superRefine((redis, ctx) => {
    if (redis.cluster && redis.sentinel)
      ctx.addIssue({ code: "custom", message: "set cluster or sentinel, not both", path: ["sentinel"] });
    if ((redis.cluster || redis.sentinel) && redis.url !== DEFAULT_REDIS_URL)
      ctx.addIssue({
        code: "custom",
        message: `url is unused with ${redis.cluster ? "cluster" : "sentinel"}: remove it (credentials go in ${redis.cluster ? "cluster" : "sentinel"}.password)`,
        path: ["url"],
      });
    if (redis.tls && !redis.cluster && !redis.sentinel && !redis.url.startsWith("rediss://"))
      ctx.addIssue({ code: "custom", message: "tls needs a rediss:// url (TLS on)", path: ["tls"] });
  });
export type RedisConfig = z.infer<typeof RedisConfigSchema>;
export type RedisTlsConfig = z.infer<typeof RedisTlsSchema>;

/** Settings every source takes, whatever its type; each source type's schema spreads it. */
export const SOURCE_BASE_SHAPE = {
  name: NameSchema,
  pollInterval: DurationSchema.prefault("1m"),
  enabled: z.boolean().default(true),
  /** Events per `vigil-events` job. */
  batchSize: z.number().int().min(1).max(1000).default(DEFAULT_EVENT_BATCH_SIZE),
};

/** What every package may rely on in any source's config, whatever its type. */
export interface SourceConfigBase {
  name: string;
  type: string;
  enabled: boolean;
  pollInterval: number;
  batchSize: number;
}

/** What every package may rely on in any channel's config, whatever its type. */
export interface ChannelConfigBase {
  name: string;
  type: string;
}

/**
 * An http(s) URL written out whole (`https://host/…`): the WHATWG parser alone would take `http:/x` or
 * a host with spaces percent-encoded, and the mistake would surface only as failed requests.
 */
export const HttpsUrlSchema = z
  .url({ protocol: /^https?$/, hostname: /^[A-Za-z0-9.\-[\]:]+$/, normalize: false })
  .regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, "expected an http(s) URL such as https://host/path")
  .describe("http(s) URL, e.g. https://acme.zendesk.com");

/** Lets an `http://` URL of the same object through (a local simulator or relay); default false. */
export const AllowInsecureHttpSchema = z.boolean().default(false);

/**
 * Refuses an `http://` URL at `key` unless the object sets `allowInsecureHttp: true`: credentials,
 * signatures and audit data would cross the network in cleartext, and anyone on the path could
 * read or change them. Loopback gets no exception; the flag says it was meant.
 */
export function refuseInsecureHttp<K extends string>(key: K) {
  return (value: { [P in K]?: string | undefined } & { allowInsecureHttp: boolean }, ctx: z.RefinementCtx): void => {
    const url = value[key];
    if (typeof url !== "string" || value.allowInsecureHttp) return;
    if (!/^http:/i.test(url)) return;
    ctx.addIssue({
      code: "custom",
      path: [key],
      message:
        "http:// sends credentials and data in cleartext: use https://, or set allowInsecureHttp: true (a local simulator or relay)",
    });
  };
}

export const RateLimitConfigSchema = z.strictObject({
  requests: z.number().int().min(1),
  per: DurationSchema,
});
export type RateLimitConfig = z.infer<typeof RateLimitConfigSchema>;

/** A secret in config: never empty (and never logged). */
export const SecretSchema = z.string().min(1);

/** The matchers of a route written the way Vigil's first routes were: each given list must overlap the alert's. */
const LegacyRouteMatchSchema = z
  .strictObject({
    severity: z.array(SeveritySchema).optional(),
    ruleIds: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
  })
  .transform((legacy): AlertMatcher[] => {
    const anyOf = (field: string, values: readonly string[] | undefined) =>
      values ? [parseAlertMatcher(`${field}=~(?:${values.map((value) => RE2JS.quote(value)).join("|")})`)] : [];
    return [...anyOf("severity", legacy.severity), ...anyOf("ruleId", legacy.ruleIds), ...anyOf("tags", legacy.tags)];
  });

/** A list of matchers (`severity=critical`, `ruleId=~okta\..*`, `provider!=pylon`), all of which must hold. */
export const MatchersSchema = z.array(AlertMatcherSchema);

/** A list of matchers, or the legacy object; each form's own problems are reported with their paths. */
const ROUTE_MATCH = z
  .unknown()
  .optional()
  .transform((value, ctx): AlertMatcher[] => {
    if (value === undefined) return [];
    const parsed = (Array.isArray(value) ? MatchersSchema : LegacyRouteMatchSchema).safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    return z.NEVER;
  });

/** How a route groups its alerts into notifications; a child route inherits what it does not set. */
const GROUPING_SHAPE = {
  /** Alert fields whose values make a group (`ruleId`, `severity`, `provider`, group values such as `actor.email`); without it, every alert is notified alone. */
  groupBy: z.array(z.string().min(1)).optional(),
  /** How long the first alert of a new group waits for companions (default 30s). */
  groupWait: DurationSchema.optional(),
  /** At most one notification per group per interval (default 5m). */
  groupInterval: DurationSchema.optional(),
};

/** One node of the routing tree, as parsed. */
export interface RouteConfig {
  /** Names the route in history and group ids; default: its path (`routes.0.routes.1`). */
  name?: string | undefined;
  match: AlertMatcher[];
  /** Empty: the parent's channels. */
  channels: string[];
  /** Go on to the next sibling after this route matched (Alertmanager's `continue`). */
  continue: boolean;
  groupBy?: string[] | undefined;
  groupWait?: number | undefined;
  groupInterval?: number | undefined;
  routes: RouteConfig[];
}

export const RouteConfigSchema: z.ZodType<RouteConfig, unknown> = z.lazy(() =>
  z.strictObject({
    name: NameSchema.optional(),
    match: ROUTE_MATCH,
    channels: z.array(NameSchema).default([]),
    continue: z.boolean().default(false),
    ...GROUPING_SHAPE,
    routes: z.array(RouteConfigSchema).default([]),
  }),
);

/** Where an alert that no route matches goes. */
export const DefaultRouteConfigSchema = z.strictObject({ channels: z.array(NameSchema).min(1), ...GROUPING_SHAPE });
export type DefaultRouteConfig = z.infer<typeof DefaultRouteConfigSchema>;

/** While an alert matching `source` exists (raised within `for`), alerts matching `target` that share the `equal` fields are not notified. */
export const InhibitRuleConfigSchema = z.strictObject({
  source: MatchersSchema.min(1),
  target: MatchersSchema.min(1),
  equal: z.array(z.string().min(1)).default([]),
  for: DurationSchema.prefault("1h"),
});
export type InhibitRuleConfig = z.infer<typeof InhibitRuleConfigSchema>;

/** A silence kept in git: the same fields as `vigil silence add`, with absolute times. */
export const ConfigSilenceSchema = z.strictObject({
  match: MatchersSchema.min(1),
  reason: z.string().trim().min(1),
  author: z.string().min(1).default("config"),
  startsAt: z.iso.datetime({ offset: true }).optional(),
  endsAt: z.iso.datetime({ offset: true }),
});
export type ConfigSilence = z.infer<typeof ConfigSilenceSchema>;

/** Every config section but `sources` and `channels`, whose schemas come from the registries. */
const CONFIG_SHAPE = {
  redis: RedisConfigSchema.prefault({}),
  rules: z
    .strictObject({
      paths: z.array(z.string()).default(["rules"]),
      /** Engines reload the rule files when they change (a ConfigMap update), checking every `watchEvery`. */
      watch: z.boolean().default(true),
      watchEvery: DurationSchema.prefault("10s"),
      /**
       * Tuning of loaded rules, as in rule files: `{ override: <rule id>, … }`, `{ list: <name>, items }`,
       * `{ macro: <name>, when }`. The engine checks them (with file:line:col) when it loads the rules.
       */
      overrides: z.array(z.record(z.string(), z.unknown())).default([]),
      lists: z.array(z.record(z.string(), z.unknown())).default([]),
      macros: z.array(z.record(z.string(), z.unknown())).default([]),
    })
    .prefault({}),
  /** The routing tree's top level: siblings are tried in order; the first that matches takes the alert unless it says `continue`. */
  routes: z.array(RouteConfigSchema).default([]),
  defaultRoute: DefaultRouteConfigSchema.optional(),
  inhibit: z.array(InhibitRuleConfigSchema).default([]),
  silences: z.array(ConfigSilenceSchema).default([]),
  alertHistory: z
    .strictObject({
      /** How long each alert's record is kept. */
      retention: DurationSchema.prefault("30d"),
      /** The most alerts kept; the oldest go first. */
      maxAlerts: z.number().int().min(100).max(10_000_000).default(100_000),
    })
    .prefault({}),
  /** Acceptance limits every live source and `vigil replay` hold records to (besides core's fixed EVENT_LIMITS). */
  events: z
    .strictObject({
      /** An event dated more than this after the wall clock when it arrives is refused (quarantined). */
      maxFutureSkew: DurationSchema.prefault("5m"),
    })
    .prefault({}),
  connectors: z
    .strictObject({
      /**
       * The lease of a source's pull lock, renewed every third of it while the pull runs. A
       * connector killed without shutting down (SIGKILL, OOM, a node lost) holds its sources this
       * long: a restart pulls them again once it ends. Shorter means a crash-looping pod gets back
       * to its backfill sooner; a pause longer than it (a stalled event loop) makes the pull stop
       * and another take over from the last checkpoint.
       */
      lockTtl: DurationSchema.prefault("30s"),
    })
    .prefault({}),
  engine: z
    .strictObject({
      /** Parallel `vigil-events` jobs per worker. */
      concurrency: z.number().int().min(1).max(64).default(8),
      /** How long an event id is remembered to drop redeliveries. */
      dedupFor: DurationSchema.prefault("24h"),
      /** A source whose watermark has not moved for this long, while absence rules wait for it, raises a "source blind" alert. */
      sourceBlindAfter: DurationSchema.prefault("1h"),
      /**
       * How long the state of a rule no engine loads any more (removed, or edited so that its state
       * key changed), and the watermark progress of a source no longer configured, are kept before
       * the engine's sweep deletes them: longer than a rolling update.
       */
      stateGracePeriod: DurationSchema.prefault("1h"),
      /**
       * Rule-state shards: each rule and group's state (and its decisions) lives in one of them,
       * under its own hash tag `{prefix:s<k>}`, and a batch is one script call per shard it touches.
       * On a Redis Cluster, a few per primary (3 primaries: 12) spread the state and its work over
       * them; on one Redis, 1 (one call per batch). Fixed for a deployment's life: the engine records
       * it in Redis at its first start and refuses to start with another.
       */
      stateShards: z.number().int().min(1).max(1024).default(1),
      /** IP enrichment: events with an IP gain `geo` before rules run. */
      geoip: z
        .strictObject({
          enabled: z.boolean().default(true),
          /**
           * `.mmdb` files (MaxMind DB format: GeoLite2/GeoIP2 City, ASN, DB-IP, …), each looked up in
           * turn, the first to give a field wins. Default: the DB-IP Lite City files Vigil ships.
           */
          databases: z.array(z.string().min(1)).min(1).optional(),
          /** Addresses whose lookup is kept (least recently used go first). */
          cacheSize: z.number().int().min(1).default(50_000),
        })
        .prefault({}),
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
};

/** The config as every package sees it; `S` and `C` narrow its sources and channels to the types a package knows. */
export type Config<
  S extends SourceConfigBase = SourceConfigBase,
  C extends ChannelConfigBase = ChannelConfigBase,
> = z.infer<z.ZodObject<typeof CONFIG_SHAPE>> & {
  sources: S[];
  channels: C[];
};

/**
 * Builds the config schema from the registries' schemas: `source` is the union of every source
 * type's schema (from @vigil/connectors), `channel` that of every channel type (from
 * @vigil/notifier). The composition root (the CLI) joins them; core knows neither.
 */
export function createConfigSchema<
  S extends SourceConfigBase,
  C extends ChannelConfigBase,
  SI = unknown,
  CI = unknown,
>(parts: { source: z.ZodType<S, SI>; channel: z.ZodType<C, CI> }) {
  return z
    .strictObject({
      redis: CONFIG_SHAPE.redis,
      sources: z.array(parts.source).default([]),
      rules: CONFIG_SHAPE.rules,
      channels: z.array(parts.channel).default([]),
      routes: CONFIG_SHAPE.routes,
      events: CONFIG_SHAPE.events,
      defaultRoute: CONFIG_SHAPE.defaultRoute,
      inhibit: CONFIG_SHAPE.inhibit,
      silences: CONFIG_SHAPE.silences,
      alertHistory: CONFIG_SHAPE.alertHistory,
      connectors: CONFIG_SHAPE.connectors,
      engine: CONFIG_SHAPE.engine,
      notifier: CONFIG_SHAPE.notifier,
      server: CONFIG_SHAPE.server,
    })
    .superRefine((config, ctx) => {
      const unique = (items: { name: string }[], key: string) => {
        const seen = new Set<string>();
        items.forEach((item, i) => {
          if (seen.has(item.name))
            ctx.addIssue({ code: "custom", path: [key, i, "name"], message: `duplicate ${key} name "${item.name}"` });
          seen.add(item.name);
        });
      };
      unique(config.sources, "sources");
      unique(config.channels, "channels");
      const channelNames = new Set(config.channels.map((c) => c.name));
      const checkChannels = (channels: readonly string[], path: (string | number)[]) => {
        for (const [j, name] of channels.entries()) {
          if (!channelNames.has(name))
            ctx.addIssue({ code: "custom", path: [...path, "channels", j], message: `unknown channel "${name}"` });
        }
      };
      const checkRoutes = (routes: readonly RouteConfig[], path: (string | number)[], inherited: boolean) => {
        for (const [i, route] of routes.entries()) {
          checkChannels(route.channels, [...path, i]);
          const hasChannels = inherited || route.channels.length > 0;
          if (!hasChannels && !route.routes.length)
            ctx.addIssue({
              code: "custom",
              path: [...path, i],
              message: "a route needs channels (its own or its parent's)",
            });
          checkRoutes(route.routes, [...path, i, "routes"], hasChannels);
        }
      };
      checkRoutes(config.routes, ["routes"], false);
      if (config.defaultRoute) checkChannels(config.defaultRoute.channels, ["defaultRoute"]);
      for (const [i, silence] of config.silences.entries()) {
        if (silence.startsAt && Date.parse(silence.startsAt) >= Date.parse(silence.endsAt))
          ctx.addIssue({ code: "custom", path: ["silences", i, "endsAt"], message: "endsAt must be after startsAt" });
      }
    });
}

/** A config schema built by {@link createConfigSchema}. */
export type ConfigSchemaOf<S extends SourceConfigBase, C extends ChannelConfigBase> = ReturnType<
  typeof createConfigSchema<S, C>
>;

/** The config's defaults for everything but sources and channels (what a missing config file means). */
export const CONFIG_DEFAULTS: Omit<Config, "sources" | "channels"> = z.strictObject(CONFIG_SHAPE).parse({});
