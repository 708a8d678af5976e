import { defineSource } from "../../kit/provider-manifest.js";
import { ASHBY_ACTION_VOCABULARY } from "./ashby.normalize.js";
import { AshbySourceSchema } from "./ashby.config.js";
import {
  ASHBY_DEFAULT_RATE_LIMIT,
  ASHBY_MAX_PAGE_SIZE,
  ASHBY_MAX_WINDOW_MS,
  ASHBY_WINDOW_RECORDS,
  createAshbyConnector,
} from "./ashby.connector.js";

/** The `ashby` source type: config, connector, documented limits, simulator credentials. */
export const ashbyManifest = defineSource({
  type: "ashby",
  watermark: "each time window read moves it to the window's end less `lookback`, with or without records",
  configSchema: AshbySourceSchema,
  create: createAshbyConnector,
  provider: {
    vocabulary: ASHBY_ACTION_VOCABULARY,
    limits: {
      rateLimit: ASHBY_DEFAULT_RATE_LIMIT,
      maxPageSize: ASHBY_MAX_PAGE_SIZE,
      timeWindows: { maxMs: ASHBY_MAX_WINDOW_MS },
    },
    simulatorAuth: (credentials, secret = (value) => value) => ({ apiKey: secret(credentials.apiKey ?? "") }),
    listing: {
      oldestFirst: false,
      why: "`auditLog.list` answers newest first and has no sort parameter: each window is held and sorted",
      windowRecords: ASHBY_WINDOW_RECORDS,
    },
    conformancePageSize: 30,
  },
});
