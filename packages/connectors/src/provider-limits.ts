import type { ProviderName, RateLimit } from "@vigil/core";
import { ASHBY_DEFAULT_RATE_LIMIT, ASHBY_MAX_PAGE_SIZE } from "./ashby/ashby.connector.js";
import { BLOODHOUND_DEFAULT_PAGE_SIZE, BLOODHOUND_DEFAULT_RATE_LIMIT } from "./bloodhound/bloodhound.connector.js";
import { LOGFIRE_DEFAULT_RATE_LIMIT } from "./logfire/logfire.connector.js";
import { PYLON_DEFAULT_RATE_LIMIT, PYLON_MAX_PAGE_SIZE } from "./pylon/pylon.connector.js";
import { ZENDESK_DEFAULT_RATE_LIMIT, ZENDESK_MAX_PAGE_SIZE } from "./zendesk/zendesk.connector.js";

/** Each provider's documented request budget and largest page (none where the API has no pages). */
export const DOCUMENTED_PROVIDER_LIMITS = {
  pylon: { rateLimit: PYLON_DEFAULT_RATE_LIMIT, maxPageSize: PYLON_MAX_PAGE_SIZE },
  zendesk: { rateLimit: ZENDESK_DEFAULT_RATE_LIMIT, maxPageSize: ZENDESK_MAX_PAGE_SIZE },
  ashby: { rateLimit: ASHBY_DEFAULT_RATE_LIMIT, maxPageSize: ASHBY_MAX_PAGE_SIZE },
  logfire: { rateLimit: LOGFIRE_DEFAULT_RATE_LIMIT, maxPageSize: undefined },
  bloodhound: { rateLimit: BLOODHOUND_DEFAULT_RATE_LIMIT, maxPageSize: BLOODHOUND_DEFAULT_PAGE_SIZE },
} satisfies Record<ProviderName, { rateLimit: RateLimit; maxPageSize: number | undefined }>;
