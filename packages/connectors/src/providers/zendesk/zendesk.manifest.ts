import { defineSource } from "../../kit/provider-manifest.js";
import { ZENDESK_ACTION_VOCABULARY } from "./zendesk.normalize.js";
import { ZendeskSourceSchema } from "./zendesk.config.js";
import { ZENDESK_DEFAULT_RATE_LIMIT, ZENDESK_MAX_PAGE_SIZE, createZendeskConnector } from "./zendesk.connector.js";

/** The `zendesk` source type: config, connector, documented limits, simulator credentials. */
export const zendeskManifest = defineSource({
  type: "zendesk",
  watermark:
    "each page queued moves it to the page's latest `created_at` less `lookback` (listed oldest first); each window read to the window's end less `lookback`, with or without records",
  configSchema: ZendeskSourceSchema,
  create: createZendeskConnector,
  provider: {
    vocabulary: ZENDESK_ACTION_VOCABULARY,
    limits: {
      rateLimit: ZENDESK_DEFAULT_RATE_LIMIT,
      maxPageSize: ZENDESK_MAX_PAGE_SIZE,
      timeWindows: { maxMs: undefined },
    },
    simulatorAuth: (credentials, secret = (value) => value) => ({
      email: credentials.email ?? "",
      token: secret(credentials.apiToken ?? ""),
    }),
    listing: { oldestFirst: true, how: "cursor pagination with `sort=created_at` (the default is `-created_at`)" },
    conformancePageSize: 25,
  },
});
