import { z } from "zod";
import { parseRfc3339Us } from "./instant.js";

/** An RFC 3339 timestamp with an offset, as every simulated provider writes them. */
export const Rfc3339StringSchema = z.string().refine((value) => parseRfc3339Us(value) !== undefined, {
  message: "expected an RFC 3339 timestamp such as 2025-01-31T12:00:00Z",
});

/** Reads a timestamp field of a draft; undefined when absent or unparseable (the schema check reports the latter). */
export function draftTime(draft: Record<string, unknown>, ...fields: string[]): number | undefined {
  for (const field of fields) {
    const value = draft[field];
    if (typeof value === "string") return parseRfc3339Us(value);
  }
  return undefined;
}
