export { startProviderSimulator, type ProviderSimulator, type RequestLogEntry } from "./provider-simulator.js";
export {
  DEFAULT_PROVIDER_CREDENTIALS,
  DEFAULT_RECORD_COUNT,
  DEFAULT_SPAN_DAYS,
  ProviderNameSchema,
  ProviderSimulatorOptionsSchema,
  type ProviderSimulatorOptions,
} from "./simulator-options.schema.js";
export {
  PROVIDER_NAMES,
  isSimulatedProvider,
  type FeedOrder,
  type ProviderCredentials,
  type ProviderName,
  type ProviderRecord,
  type ProviderRecordDraft,
  type RawRecord,
} from "./provider.types.js";
export { FAULT_KINDS, FaultSettingsSchema, type FaultKind, type FaultSettings } from "./shared/fault-injector.js";
export { RateLimitSettingSchema, type RateLimitSetting } from "./shared/rate-limiter.js";
export type { RecordDraft } from "./shared/draft-merge.js";
export { PylonAuditLogSchema, PYLON_ACTIONS, type PylonAuditLog } from "./pylon/pylon.records.js";
export { PylonCredentialsSchema, DEFAULT_PYLON_CREDENTIALS, type PylonCredentials } from "./pylon/pylon.provider.js";
export { ZendeskAuditLogSchema, ZENDESK_ACTION_LABELS, type ZendeskAuditLog } from "./zendesk/zendesk.records.js";
export {
  ZendeskCredentialsSchema,
  DEFAULT_ZENDESK_CREDENTIALS,
  type ZendeskCredentials,
} from "./zendesk/zendesk.provider.js";
export {
  AshbyAuditLogEntrySchema,
  ASHBY_ACTOR_TYPES,
  ASHBY_CATEGORIES,
  ASHBY_TARGET_TYPES,
  type AshbyAuditLogEntry,
} from "./ashby/ashby.records.js";
export { AshbyCredentialsSchema, DEFAULT_ASHBY_CREDENTIALS, type AshbyCredentials } from "./ashby/ashby.provider.js";
export {
  LogfireAuditLogSchema,
  LogfireAuditLogDetailSchema,
  LOGFIRE_ACTIONS,
  type LogfireAuditLog,
  type LogfireAuditLogDetail,
} from "./logfire/logfire.records.js";
export {
  LogfireCredentialsSchema,
  DEFAULT_LOGFIRE_CREDENTIALS,
  type LogfireCredentials,
} from "./logfire/logfire.provider.js";
export {
  BloodHoundAuditLogSchema,
  BLOODHOUND_ACTIONS,
  BLOODHOUND_STATUSES,
  type BloodHoundAuditLog,
} from "./bloodhound/bloodhound.records.js";
export {
  BloodHoundCredentialsSchema,
  DEFAULT_BLOODHOUND_CREDENTIALS,
  type BloodHoundCredentials,
} from "./bloodhound/bloodhound.provider.js";
