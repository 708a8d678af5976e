import { DurationSchema, NameSchema, SOURCE_BASE_SHAPE } from "@vigil/core";
import { z } from "zod";

/** Tails a JSON-lines file of AuditEvents (one event per line). */
export const FileSourceSchema = z.strictObject({
  ...SOURCE_BASE_SHAPE,
  type: z.literal("file"),
  path: z.string().min(1),
  /**
   * How long after its event time a line can still be appended: a read that reaches the end of
   * the file at wall time T promises every line of event time before T − lookback is in, and moves
   * the source's watermark there (a quiet file, or one read once, holds no rule back).
   */
  lookback: DurationSchema.prefault("5m"),
  /** The provider of the file's events, when it holds one provider's; its lines must then name it or none. */
  provider: NameSchema.optional(),
});
export type FileSourceConfig = z.infer<typeof FileSourceSchema>;
