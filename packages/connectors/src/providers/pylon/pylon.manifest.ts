import { defineSource } from "../../kit/provider-manifest.js";
import { PYLON_ACTION_VOCABULARY } from "./pylon.normalize.js";
import { PylonSourceSchema } from "./pylon.config.js";
import {
  PYLON_DEFAULT_RATE_LIMIT,
  PYLON_MAX_PAGE_SIZE,
  PYLON_WINDOW_RECORDS,
  createPylonConnector,
} from "./pylon.connector.js";

/** The `pylon` source type: config, connector, documented limits, simulator credentials. */
export const pylonManifest = defineSource({
  type: "pylon",
  watermark:
    "a poll that reaches the end of the cursor at wall time T moves it to T less `lookback` (Pylon's ingestion delay; default 10m)",
  configSchema: PylonSourceSchema,
  create: createPylonConnector,
  provider: {
    vocabulary: PYLON_ACTION_VOCABULARY,
    limits: { rateLimit: PYLON_DEFAULT_RATE_LIMIT, maxPageSize: PYLON_MAX_PAGE_SIZE },
    simulatorAuth: (credentials, secret = (value) => value) => ({ token: secret(credentials.token ?? "") }),
    listing: {
      oldestFirst: false,
      why: "`GET /audit-logs` has no documented order and lists by insert time, not action time: pages are held this many records at a time and sorted, the cursor checkpointed with each flush",
      windowRecords: PYLON_WINDOW_RECORDS,
    },
    conformancePageSize: 40,
  },
});
