import { expect } from "vitest";
import { connectRedis, RedisConfigSchema, RedisConnectError } from "@vigil/core";

/** The RedisConnectError `connectRedis` fails with for a `redis` config section (before defaults). */
export async function connectError(redis: unknown, timeoutMs = 1_000): Promise<RedisConnectError> {
  const error = await connectRedis(RedisConfigSchema.parse(redis), { timeoutMs }).then(
    (client) => {
      client.disconnect();
      throw new Error("connected");
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(RedisConnectError);
  return error as RedisConnectError;
}
