import { describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS } from "./config.js";
import { QUEUES } from "./queues.js";

describe("the queue catalog", () => {
  it("keeps completed jobs of every queue for a bounded time and a bounded count", () => {
    for (const definition of Object.values(QUEUES)) {
      const { removeOnComplete } = definition.jobOptions(CONFIG_DEFAULTS);
      expect(removeOnComplete, definition.name).toEqual({ age: expect.any(Number), count: expect.any(Number) });
      const { age, count } = removeOnComplete as { age: number; count: number };
      expect(age, definition.name).toBeGreaterThan(0);
      expect(age, definition.name).toBeLessThanOrEqual(7 * 86_400);
      expect(count, definition.name).toBeGreaterThan(0);
      expect(count, definition.name).toBeLessThanOrEqual(100_000);
    }
  });
});
