import { SOURCE_BASE_SHAPE } from "@vigil/core";
import { z } from "zod";

/** Tails a JSON-lines file of AuditEvents (one event per line). */
export const FileSourceSchema = z.strictObject({
  ...SOURCE_BASE_SHAPE,
  type: z.literal("file"),
  path: z.string().min(1),
});
export type FileSourceConfig = z.infer<typeof FileSourceSchema>;
