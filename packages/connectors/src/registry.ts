import type { SourceConfig } from "@vigil/core";
import type { Connector, ConnectorDeps, ConnectorFactory } from "./connector.js";
import { createAshbyConnector } from "./ashby/ashby.connector.js";
import { createBloodhoundConnector } from "./bloodhound/bloodhound.connector.js";
import { createFileConnector } from "./file/file.connector.js";
import { createLogfireConnector } from "./logfire/logfire.connector.js";
import { createPylonConnector } from "./pylon/pylon.connector.js";
import { createZendeskConnector } from "./zendesk/zendesk.connector.js";

/** One factory per source type; adding a type to SourceConfigSchema without one here fails to compile. */
export const connectorFactories = {
  file: createFileConnector,
  pylon: createPylonConnector,
  zendesk: createZendeskConnector,
  ashby: createAshbyConnector,
  logfire: createLogfireConnector,
  bloodhound: createBloodhoundConnector,
} satisfies { [K in SourceConfig["type"]]: ConnectorFactory<Extract<SourceConfig, { type: K }>> };

/** Builds the connector for a configured source. */
export function createConnector(config: SourceConfig, deps: ConnectorDeps): Connector {
  // TypeScript cannot correlate `config.type` with its factory's parameter type; the `satisfies` above checks each pair.
  const factory = connectorFactories[config.type] as ConnectorFactory<SourceConfig>;
  return factory(config, deps);
}
