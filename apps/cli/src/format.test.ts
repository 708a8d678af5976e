import { describe, expect, it } from "vitest";
import { formatElapsed, formatTable } from "./format.js";

describe("formatElapsed", () => {
  it("gives the largest unit and the next, for people", () => {
    expect(formatElapsed(531_663_000)).toBe("6d 3h");
    expect(formatElapsed(2 * 3_600_000 + 15 * 60_000 + 59_000)).toBe("2h 15m");
    expect(formatElapsed(3_600_000)).toBe("1h");
    expect(formatElapsed(86_400_000 + 30 * 60_000)).toBe("1d");
    expect(formatElapsed(65_000)).toBe("1m 5s");
    expect(formatElapsed(45_400)).toBe("45s");
    expect(formatElapsed(300)).toBe("0s");
    expect(formatElapsed(-5000)).toBe("0s");
  });
});

describe("formatTable", () => {
  it("heads every column with its words in lower case", () => {
    expect(formatTable([{ failedAt: "2026-01-01", id: "7" }], ["id", "failedAt"])).toBe(
      "id  failed at\n7   2026-01-01",
    );
  });
});
