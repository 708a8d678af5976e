import { defineSource } from "../../kit/provider-manifest.js";
import { FileSourceSchema } from "./file.config.js";
import { createFileConnector } from "./file.connector.js";

/** The `file` source type: tails a JSON-lines file of AuditEvents. */
export const fileManifest = defineSource({
  type: "file",
  watermark:
    "a read that reaches the end of the file at wall time T moves it to T less `lookback` (default 5m): a file nobody appends to, or one read once, holds nothing back",
  providerOf: (config) => config.provider,
  configSchema: FileSourceSchema,
  create: (config, deps) => createFileConnector(config, deps),
});
