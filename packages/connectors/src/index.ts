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
export {
  RateLimitSchema,
  RedisRateLimiter,
  rateLimitKey,
  type RateLimit,
  type RateLimiter,
  type RedisRateLimiterOptions,
} from "./http/rate-limiter.js";
export { CheckpointStore, SourceHealthSchema, type RunProgress, type SourceHealth } from "./checkpoint-store.js";
export {
  DEFAULT_EVENT_BATCH_SIZE,
  PollJobSchema,
  eventBatchJobId,
  getSourcesStatus,
  openPollQueue,
  startPollWorker,
  type PollJob,
  type PollWorker,
  type PollWorkerOptions,
  type PullResult,
  type SourceStatus,
} from "./poll-worker.js";
export { WindowCheckpointSchema, windowedPull, type TimeWindow, type WindowCheckpoint, type WindowedPullSettings, type WindowedSource } from "./windowed-pull.js";
