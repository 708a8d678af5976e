import type { ActionVocabulary, SourceConfigBase } from "@vigil/core";
import { z } from "zod";
import type { Connector, ConnectorDeps, ConnectorFactory } from "../kit/connector.js";
import type { SourceManifest } from "../kit/provider-manifest.js";
import { ashbyManifest } from "./ashby/ashby.manifest.js";
import { bloodhoundManifest } from "./bloodhound/bloodhound.manifest.js";
import { fileManifest } from "./file/file.manifest.js";
import { logfireManifest } from "./logfire/logfire.manifest.js";
import { pylonManifest } from "./pylon/pylon.manifest.js";
import { zendeskManifest } from "./zendesk/zendesk.manifest.js";

/**
 * Every source type, one line each. The config's `sources` schema, `PROVIDERS`, the documented
 * limits, the conformance suite's cases and the demo's sources are all derived from this list.
 */
export const SOURCE_MANIFESTS = [
  fileManifest,
  pylonManifest,
  zendeskManifest,
  ashbyManifest,
  logfireManifest,
  bloodhoundManifest,
] as const;

type SourceSchemas = (typeof SOURCE_MANIFESTS)[number]["configSchema"];
/** Any source's config, as the registered schemas parse it. */
export type SourceConfig = z.output<SourceSchemas>;
/** Any source's config as written (durations as text, defaults left out). */
export type SourceConfigInput = z.input<SourceSchemas>;
export type SourceType = SourceConfig["type"];

/** One branch per registered source type, discriminated by `type`. */
export const SourceConfigSchema = z.discriminatedUnion(
  "type",
  SOURCE_MANIFESTS.map((manifest) => manifest.configSchema) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<SourceConfig, SourceConfigInput>;

/** A source type backed by an HTTP API provider (every registered type but `file`). */
export type ProviderManifest = SourceManifest & Required<Pick<SourceManifest, "provider">>;

/** The HTTP API providers, in registry order. */
export const PROVIDER_MANIFESTS: readonly ProviderManifest[] = (SOURCE_MANIFESTS as readonly SourceManifest[]).filter(
  (manifest): manifest is ProviderManifest => manifest.provider !== undefined,
);
export const PROVIDERS: readonly string[] = PROVIDER_MANIFESTS.map((manifest) => manifest.type);

/** Each provider's documented request budget and largest page, by provider type. */
export const DOCUMENTED_PROVIDER_LIMITS: Readonly<Record<string, ProviderManifest["provider"]["limits"]>> =
  Object.fromEntries(PROVIDER_MANIFESTS.map((manifest) => [manifest.type, manifest.provider.limits]));

/** Each provider's action vocabulary (its manifest's), by provider type: what rules are checked against. */
export const ACTION_VOCABULARIES: Readonly<Record<string, ActionVocabulary>> = Object.fromEntries(
  PROVIDER_MANIFESTS.map((manifest) => [manifest.type, manifest.provider.vocabulary]),
);

const byType = new Map<string, SourceManifest>(
  (SOURCE_MANIFESTS as readonly SourceManifest[]).map((manifest) => [manifest.type, manifest]),
);

/** The manifest of a registered source type; throws for an unknown one. */
export function sourceManifest(type: string): SourceManifest {
  const manifest = byType.get(type);
  if (!manifest) throw new Error(`unknown source type "${type}" (registered: ${[...byType.keys()].join(", ")})`);
  return manifest;
}

/** Builds the connector for a configured source. */
export function createConnector(config: SourceConfigBase, deps: ConnectorDeps): Connector {
  // The schema and factory of one manifest go together (`defineSource` checks them); the config was parsed by that schema.
  const factory = sourceManifest(config.type).create as ConnectorFactory<SourceConfigBase>;
  return factory(config, deps);
}

/** A configured source as the engine sees it: its name, and the provider of its events when one. */
function sourceIdentity(config: SourceConfigBase): { name: string; provider?: string } {
  const manifest = sourceManifest(config.type);
  const provider = manifest.providerOf ? manifest.providerOf(config) : manifest.provider ? config.type : undefined;
  return { name: config.name, ...(provider === undefined ? {} : { provider }) };
}

/** The enabled sources of a config, as the engine sees them (every rule's watermark is taken over them). */
export function sourceIdentities(sources: readonly SourceConfigBase[]): { name: string; provider?: string }[] {
  return sources.filter((source) => source.enabled).map(sourceIdentity);
}
