import { defineSource } from "../../kit/provider-manifest.js";
import { FileSourceSchema } from "./file.config.js";
import { createFileConnector } from "./file.connector.js";

/** The `file` source type: tails a JSON-lines file of AuditEvents. */
export const fileManifest = defineSource({
  type: "file",
  configSchema: FileSourceSchema,
  create: (config, deps) => createFileConnector(config, deps),
});
