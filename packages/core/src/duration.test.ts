import { describe, expect, it } from "vitest";
import { DurationSchema, formatDuration, parseDuration } from "./duration.js";

describe("durations", () => {
  it("parses every unit", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1h")).toBe(3_600_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration("2w")).toBe(1_209_600_000);
  });

  it("rejects malformed, zero and unitless values", () => {
    for (const bad of ["5", "m", "5 minutes", "-5m", "0s", "1.5h", ""]) expect(parseDuration(bad)).toBeUndefined();
    expect(DurationSchema.safeParse("0s").success).toBe(false);
    expect(DurationSchema.safeParse("10x").success).toBe(false);
  });

  it("formats in the largest whole unit", () => {
    expect(formatDuration(300_000)).toBe("5m");
    expect(formatDuration(90_000)).toBe("90s");
    expect(formatDuration(1_500)).toBe("1500ms");
  });
});
