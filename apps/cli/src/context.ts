import {
  captureConsole,
  collectSecrets,
  ConfigError,
  formatProblem,
  connectRedis,
  createLogger,
  createMetrics,
  Keyspace,
  loadConfig,
  openQueues,
  RedisConnectError,
  registerSecrets,
  RuleError,
  type Logger,
  type VigilQueues,
} from "@vigil/core";
import { StateShardsMismatchError } from "@vigil/engine";
import { terminalText } from "./format.js";
import { VigilConfigSchema, type VigilConfig as Config } from "./vigil-config.js";
import type { RedisClient } from "@vigil/core";
import { readEnv, type CliEnv } from "./env.js";

/** Options every command takes. */
export interface GlobalOptions {
  config?: string;
  logLevel?: CliEnv["VIGIL_LOG_LEVEL"];
}

/** An error the CLI reports as its message alone, with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CliContext {
  env: CliEnv;
  config: Config;
  logger: Logger;
  metrics: ReturnType<typeof createMetrics>;
}

export function cliContext(options: GlobalOptions): CliContext {
  const env = readEnv();
  const config = loadConfig({ schema: VigilConfigSchema, path: options.config, env: process.env });
  // Before anything can log: every secret of the config is scrubbed from logs and error output.
  registerSecrets(collectSecrets(config));
  const logger = createLogger({ level: options.logLevel ?? env.VIGIL_LOG_LEVEL });
  captureConsole(logger);
  return { env, config, logger, metrics: createMetrics() };
}

/**
 * Connects to the configured Redis, waiting a bounded time while nothing answers (one JSON log
 * line per retry); a malformed URL, refused credentials or no answer is a {@link RedisConnectError}.
 */
export async function requireRedis(
  config: Config,
  options: { logger?: Logger; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<RedisClient> {
  return connectRedis(config.redis, { timeoutMs: readEnv().VIGIL_REDIS_WAIT, ...options });
}

/** Runs `work` with the configured Redis, keyspace and queues, closing them afterwards. */
export async function withQueues<T>(
  config: Config,
  work: (deps: { redis: RedisClient; keyspace: Keyspace; queues: VigilQueues }) => Promise<T>,
): Promise<T> {
  const redis = await requireRedis(config);
  const keyspace = new Keyspace(config.redis.prefix);
  const queues = openQueues(redis, keyspace.queuePrefix, config);
  try {
    return await work({ redis, keyspace, queues });
  } finally {
    await queues.close();
    await redis.quit();
  }
}

/** Turns known errors into their message and exit code; unknown ones keep their stack. */
export function reportError(err: unknown): number {
  if (err instanceof ConfigError || err instanceof RuleError) {
    for (const problem of err.problems) process.stderr.write(`${terminalText(formatProblem(problem))}\n`);
    return 2;
  }
  if (err instanceof CliError) {
    process.stderr.write(`vigil: ${terminalText(err.message)}\n`);
    return err.exitCode;
  }
  if (err instanceof RedisConnectError || err instanceof StateShardsMismatchError) {
    process.stderr.write(`vigil: ${terminalText(err.message)}\n`);
    return 2;
  }
  process.stderr.write(`vigil: ${terminalText(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  return 1;
}
