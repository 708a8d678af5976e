import { defineSource } from "../../kit/provider-manifest.js";
import { BLOODHOUND_ACTION_VOCABULARY } from "./bloodhound.normalize.js";
import { BloodhoundSourceSchema } from "./bloodhound.config.js";
import {
  BLOODHOUND_DEFAULT_RATE_LIMIT,
  BLOODHOUND_DEFAULT_PAGE_SIZE,
  createBloodhoundConnector,
} from "./bloodhound.connector.js";

/** The `bloodhound` source type: config, connector, documented limits, simulator credentials. */
export const bloodhoundManifest = defineSource({
  type: "bloodhound",
  watermark: "each time window read moves it to the window's end less `lookback`, with or without records",
  configSchema: BloodhoundSourceSchema,
  create: createBloodhoundConnector,
  provider: {
    vocabulary: BLOODHOUND_ACTION_VOCABULARY,
    limits: {
      rateLimit: BLOODHOUND_DEFAULT_RATE_LIMIT,
      maxPageSize: BLOODHOUND_DEFAULT_PAGE_SIZE,
      timeWindows: { maxMs: undefined },
    },
    simulatorAuth: (credentials, secret = (value) => value) => ({
      tokenId: credentials.tokenId ?? "",
      tokenKey: secret(credentials.tokenKey ?? ""),
    }),
    conformancePageSize: 35,
  },
});
