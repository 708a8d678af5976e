import { DurationSchema, formatZodError } from "@vigil/core";
import { z } from "zod";

/** The environment the CLI reads, parsed once. */
const CliEnvSchema = z.object({
  VIGIL_CONFIG: z.string().optional(),
  VIGIL_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a command waits for Redis to answer at start-up before it exits 2 (default 10s). */
  VIGIL_REDIS_WAIT: DurationSchema.default(10_000),
});
export type CliEnv = z.infer<typeof CliEnvSchema>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  const parsed = CliEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(`environment: ${formatZodError(parsed.error)}`);
  return parsed.data;
}
