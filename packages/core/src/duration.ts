import { z } from "zod";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d|w)$/;

/** Parses `30s`, `5m`, `1h`, `7d`, `2w` or `250ms` into milliseconds; returns undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] as keyof typeof UNIT_MS;
  const ms = amount * UNIT_MS[unit];
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** Renders milliseconds in the largest whole unit (`300000` → `5m`). */
export function formatDuration(ms: number): string {
  for (const unit of ["w", "d", "h", "m", "s"] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration string such as `5m`, parsed to milliseconds. */
export const DurationSchema = z
  .string()
  .regex(DURATION_PATTERN, "a duration such as 30s, 5m, 1h or 7d")
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `duration "${text}" must be positive and finite` });
      return z.NEVER;
    }
    return ms;
  });
