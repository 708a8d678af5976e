export {
  CheckpointSchema,
  type Checkpoint,
  type Connector,
  type ConnectorDeps,
  type ConnectorFactory,
  type ConnectorHttpOptions,
  type PullOptions,
  type PullProgress,
  type SourcePage,
} from "./kit/connector.js";
export { createConnectorDeps } from "./kit/connector-deps.js";
export {
  ACTION_VOCABULARIES,
  DOCUMENTED_PROVIDER_LIMITS,
  PROVIDER_MANIFESTS,
  PROVIDERS,
  SOURCE_MANIFESTS,
  SourceConfigSchema,
  createConnector,
  sourceIdentities,
  sourceManifest,
  type ProviderManifest,
  type SourceConfig,
  type SourceConfigInput,
  type SourceType,
} from "./providers/registry.js";
export { defineSource, type ProviderTraits, type SourceManifest } from "./kit/provider-manifest.js";
export { PROVIDER_SOURCE_SHAPE } from "./kit/source-config.js";
export { FileSourceSchema, type FileSourceConfig } from "./providers/file/file.config.js";
export { PylonSourceSchema, type PylonSourceConfig } from "./providers/pylon/pylon.config.js";
export { ZendeskSourceSchema, type ZendeskSourceConfig } from "./providers/zendesk/zendesk.config.js";
export { AshbySourceSchema, type AshbySourceConfig } from "./providers/ashby/ashby.config.js";
export { LogfireSourceSchema, type LogfireSourceConfig } from "./providers/logfire/logfire.config.js";
export { BloodhoundSourceSchema, type BloodhoundSourceConfig } from "./providers/bloodhound/bloodhound.config.js";
export {
  FileCheckpointSchema,
  createFileConnector,
  type FileCheckpoint,
  type FileConnectorOptions,
} from "./providers/file/file.connector.js";
export {
  createHttpClient,
  parseRetryAfter,
  type HttpClient,
  type HttpClientOptions,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
  type QueryValue,
  type RetryPolicy,
  type SignableRequest,
} from "./kit/http-client.js";
export {
  CheckpointStore,
  SourceHealthSchema,
  type RunProgress,
  type SourceHealth,
} from "./runtime/checkpoint-store.js";
export { eventBatchJobId } from "./runtime/event-sink.js";
export { QuarantineStore, type QuarantineEntry } from "./runtime/quarantine-store.js";
export { resetSourceCheckpoint, retryQuarantined, type WatermarkReset } from "./runtime/source-maintenance.js";
export { startPollWorker, type PollWorker, type PollWorkerOptions } from "./runtime/poll-worker.js";
export type { PullResult } from "./runtime/pull-runner.js";
export { getSourcesStatus, type SourceStatus } from "./runtime/source-status.js";
export {
  WindowCheckpointSchema,
  windowedPull,
  type TimeWindow,
  type WindowCheckpoint,
  type WindowedPullSettings,
  type WindowedSource,
} from "./kit/windowed-pull.js";
export { LOGFIRE_BASE_URLS, createLogfireConnector } from "./providers/logfire/logfire.connector.js";
export { normalizeLogfireRecord } from "./providers/logfire/logfire.normalize.js";
export { LogfireAuditLogSchema, type LogfireAuditLog } from "./providers/logfire/logfire.records.js";
export { createBloodhoundConnector } from "./providers/bloodhound/bloodhound.connector.js";
export { normalizeBloodHoundRecord } from "./providers/bloodhound/bloodhound.normalize.js";
export { BloodHoundAuditLogSchema, type BloodHoundAuditLog } from "./providers/bloodhound/bloodhound.records.js";
export { bloodHoundSignature } from "./providers/bloodhound/bloodhound.signature.js";
export {
  PYLON_BASE_URL,
  PylonCheckpointSchema,
  createPylonConnector,
  type PylonCheckpoint,
  type PylonConnectorOptions,
} from "./providers/pylon/pylon.connector.js";
export { PYLON_ACTION_MEANINGS, normalizePylonRecord, pylonActionMeaning } from "./providers/pylon/pylon.normalize.js";
export { PylonAuditLogSchema, type PylonAuditLog } from "./providers/pylon/pylon.records.js";
export { createZendeskConnector } from "./providers/zendesk/zendesk.connector.js";
export { normalizeZendeskRecord, zendeskCategory, zendeskOutcome } from "./providers/zendesk/zendesk.normalize.js";
export { ZendeskAuditLogSchema, type ZendeskAuditLog } from "./providers/zendesk/zendesk.records.js";
export { ASHBY_BASE_URL, createAshbyConnector } from "./providers/ashby/ashby.connector.js";
export { ASHBY_CATEGORY_OVERRIDES, ashbyCategory, normalizeAshbyRecord } from "./providers/ashby/ashby.normalize.js";
export { AshbyAuditLogEntrySchema, type AshbyAuditLogEntry } from "./providers/ashby/ashby.records.js";
