import { defineSource } from "../../kit/provider-manifest.js";
import { BLOODHOUND_ACTION_VOCABULARY } from "./bloodhound.normalize.js";
import { BloodhoundSourceSchema } from "./bloodhound.config.js";
import {
  BLOODHOUND_DEFAULT_RATE_LIMIT,
  BLOODHOUND_DEFAULT_PAGE_SIZE,
  BLOODHOUND_WINDOW_RECORDS,
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
    listing: {
      oldestFirst: false,
      why: "`/api/v2/audit` always orders `created_at DESC` (`sort_by` only orders equal times): each window is held and sorted",
      windowRecords: BLOODHOUND_WINDOW_RECORDS,
    },
    conformancePageSize: 35,
  },
});
