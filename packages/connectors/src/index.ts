export {
  CheckpointSchema,
  type Checkpoint,
  type Connector,
  type ConnectorDeps,
  type ConnectorFactory,
  type ConnectorHttpOptions,
  type PullOptions,
  type SourcePage,
} from "./connector.js";
export { createConnectorDeps } from "./connector-deps.js";
export { connectorFactories, createConnector } from "./registry.js";
export {
  FileCheckpointSchema,
  createFileConnector,
  type FileCheckpoint,
  type FileConnectorOptions,
} from "./file/file.connector.js";
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
} from "./http/http-client.js";
export { CheckpointStore, SourceHealthSchema, type RunProgress, type SourceHealth } from "./checkpoint-store.js";
export {
  DEFAULT_EVENT_BATCH_SIZE,
  eventBatchJobId,
  getSourcesStatus,
  startPollWorker,
  type PollWorker,
  type PollWorkerOptions,
  type PullResult,
  type SourceStatus,
} from "./poll-worker.js";
export { WindowCheckpointSchema, windowedPull, type TimeWindow, type WindowCheckpoint, type WindowedPullSettings, type WindowedSource } from "./windowed-pull.js";
export { LOGFIRE_BASE_URLS, createLogfireConnector } from "./logfire/logfire.connector.js";
export { normalizeLogfireRecord } from "./logfire/logfire.normalize.js";
export { LogfireAuditLogSchema, type LogfireAuditLog } from "./logfire/logfire.records.js";
export { createBloodhoundConnector } from "./bloodhound/bloodhound.connector.js";
export { normalizeBloodHoundRecord } from "./bloodhound/bloodhound.normalize.js";
export { BloodHoundAuditLogSchema, type BloodHoundAuditLog } from "./bloodhound/bloodhound.records.js";
export { bloodHoundSignature } from "./bloodhound/bloodhound.signature.js";
export { PYLON_BASE_URL, PylonCheckpointSchema, createPylonConnector, type PylonCheckpoint, type PylonConnectorOptions } from "./pylon/pylon.connector.js";
export { PYLON_ACTION_MEANINGS, normalizePylonRecord, pylonActionMeaning } from "./pylon/pylon.normalize.js";
export { PylonAuditLogSchema, type PylonAuditLog } from "./pylon/pylon.records.js";
export { createZendeskConnector } from "./zendesk/zendesk.connector.js";
export { normalizeZendeskRecord, zendeskCategory, zendeskOutcome } from "./zendesk/zendesk.normalize.js";
export { ZendeskAuditLogSchema, type ZendeskAuditLog } from "./zendesk/zendesk.records.js";
export { ASHBY_BASE_URL, createAshbyConnector } from "./ashby/ashby.connector.js";
export { ASHBY_CATEGORY_OVERRIDES, ashbyCategory, normalizeAshbyRecord } from "./ashby/ashby.normalize.js";
export { AshbyAuditLogEntrySchema, type AshbyAuditLogEntry } from "./ashby/ashby.records.js";
export { DOCUMENTED_PROVIDER_LIMITS } from "./provider-limits.js";
