import type { ChannelConfigBase, Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { z } from "zod";
import type { Channel } from "./channel.js";

/** What a channel may keep in Redis: rate limits shared by replicas, threads per group. */
export interface ChannelContext {
  redis: RedisClient;
  keyspace: Keyspace;
}

/** Everything Vigil knows about one channel type, exported by its folder and listed once in `channel-registry.ts`. */
export interface ChannelManifest<
  S extends z.ZodType<ChannelConfigBase, unknown> = z.ZodType<ChannelConfigBase, unknown>,
> {
  /** The `type` of its channels in config, e.g. `webhook`. */
  readonly type: z.infer<S>["type"];
  /** Its channels' config schema (strict, with `type: z.literal(type)`); one branch of the config's `channels`. */
  readonly configSchema: S;
  /** Builds the channel for one configured channel. */
  readonly create: (config: z.infer<S>, context: ChannelContext) => Channel;
}

/** Checks a manifest's pieces against each other (the factory takes what the schema makes). */
export const defineChannel = <S extends z.ZodType<ChannelConfigBase, unknown>>(
  manifest: ChannelManifest<S>,
): ChannelManifest<S> => manifest;
