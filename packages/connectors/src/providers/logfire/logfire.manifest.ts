import { defineSource } from "../../kit/provider-manifest.js";
import { DEFAULT_WINDOW_RECORDS } from "../../kit/windowed-pull.js";
import { LOGFIRE_ACTION_VOCABULARY } from "./logfire.normalize.js";
import { LogfireSourceSchema } from "./logfire.config.js";
import { LOGFIRE_DEFAULT_RATE_LIMIT, LOGFIRE_MAX_WINDOW_MS, createLogfireConnector } from "./logfire.connector.js";

/** The `logfire` source type: config, connector, documented limits, simulator credentials. */
export const logfireManifest = defineSource({
  type: "logfire",
  watermark: "each time window read moves it to the window's end less `lookback`, with or without records",
  configSchema: LogfireSourceSchema,
  create: createLogfireConnector,
  provider: {
    vocabulary: LOGFIRE_ACTION_VOCABULARY,
    limits: {
      rateLimit: LOGFIRE_DEFAULT_RATE_LIMIT,
      maxPageSize: undefined,
      timeWindows: { maxMs: LOGFIRE_MAX_WINDOW_MS },
    },
    simulatorAuth: (credentials, secret = (value) => value) => ({ token: secret(credentials.apiKey ?? "") }),
    listing: {
      oldestFirst: false,
      why: "`/v1/audit-logs/` answers each window whole, newest first, unpaged and unsortable: windows are sized to hold at most this many",
      windowRecords: DEFAULT_WINDOW_RECORDS,
    },
    conformancePageSize: undefined,
  },
});
