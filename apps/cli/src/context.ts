import { ConfigError, connectRedis, createLogger, createMetrics, formatProblem, Keyspace, loadConfig, openQueues, RuleError, type Logger, type VigilQueues } from "@vigil/core";
import { VigilConfigSchema, type VigilConfig as Config } from "./vigil-config.js";
import type { Redis } from "ioredis";
import { readEnv, type CliEnv } from "./env.js";

/** Options every command takes. */
export interface GlobalOptions {
  config?: string;
  logLevel?: CliEnv["VIGIL_LOG_LEVEL"];
}

/** An error the CLI reports as its message alone, with an exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
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
  const logger = createLogger({ level: options.logLevel ?? env.VIGIL_LOG_LEVEL });
  return { env, config, logger, metrics: createMetrics() };
}

/** Connects to the configured Redis or fails with a message saying what to do. */
export async function requireRedis(config: Config): Promise<Redis> {
  try {
    return await connectRedis(config.redis.url);
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nStart Redis (e.g. \`redis-server\`) or point redis.url in the config at one.`, 2);
  }
}

/** Runs `work` with the configured Redis, keyspace and queues, closing them afterwards. */
export async function withQueues<T>(
  config: Config,
  work: (deps: { redis: Redis; keyspace: Keyspace; queues: VigilQueues }) => Promise<T>,
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
    for (const problem of err.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 2;
  }
  if (err instanceof CliError) {
    process.stderr.write(`vigil: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`vigil: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
