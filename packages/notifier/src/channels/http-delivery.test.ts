import { describe, expect, it } from "vitest";
import { clip, parseRetryAfter } from "./http-delivery.js";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-31T12:00:00Z");
  it.each([
    ["30", 30_000],
    [" 1 ", 1_000],
    ["Sat, 31 Jan 2026 12:00:45 GMT", 45_000],
    ["Sat, 31 Jan 2026 11:59:00 GMT", 0],
    [null, undefined],
    ["", undefined],
    ["soon", undefined],
  ])("reads %j as %j ms", (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe("clip", () => {
  it("keeps what fits and marks what it cut", () => {
    expect(clip("abc", 3)).toBe("abc");
    expect(clip("abcd", 3)).toBe("ab…");
    expect(clip("abcd", 3)).toHaveLength(3);
  });
});
