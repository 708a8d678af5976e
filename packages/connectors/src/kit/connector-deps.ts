import { RedisRateLimiter, type Keyspace, type Logger } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { ConnectorDeps, ConnectorHttpOptions } from "./connector.js";
import { createHttpClient } from "./http-client.js";

/** The production deps: HTTP clients on global fetch, rate limiters in Redis. */
export function createConnectorDeps(options: {
  redis: RedisClient;
  keyspace: Keyspace;
  logger: Logger;
}): ConnectorDeps {
  const { redis, keyspace, logger } = options;
  return {
    keyspace,
    logger,
    createHttpClient({ rateLimit, logger: clientLogger, ...httpOptions }: ConnectorHttpOptions) {
      const rateLimiter = rateLimit ? new RedisRateLimiter({ redis, keyspace, ...rateLimit }) : undefined;
      return createHttpClient({
        ...httpOptions,
        ...(rateLimiter ? { rateLimiter } : {}),
        logger: clientLogger ?? logger.child({ source: httpOptions.source }),
      });
    },
  };
}
