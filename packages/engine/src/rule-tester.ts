import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { deleteKeyspace, Keyspace, MAX_ALERT_EVENT_IDS } from "@vigil/core";
import { Engine } from "./engine.js";
import type { LoadedRule } from "./rule-loader.js";
import { RedisWindowStore } from "./window-store.js";

export interface RuleTestResult {
  ruleId: string;
  test: string;
  file: string;
  passed: boolean;
  /** What went wrong, when it failed. */
  message?: string;
  alerts: { id: string; title: string }[];
}

/**
 * Runs the `tests:` of every rule through the real engine, each test in a Redis keyspace of
 * its own that is deleted afterwards.
 */
export async function runRuleTests(rules: readonly LoadedRule[], redis: Redis): Promise<RuleTestResult[]> {
  const results: RuleTestResult[] = [];
  for (const loaded of rules) {
    for (const test of loaded.rule.tests ?? []) {
      const keyspace = new Keyspace(`vigil-ruletest-${randomUUID()}`);
      try {
        const store = new RedisWindowStore(redis, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
        const engine = new Engine([{ ...loaded, rule: { ...loaded.rule, enabled: true } }], store);
        const { alerts } = await engine.processBatch(test.events, "rule-test");
        const failures: string[] = [];
        if (alerts.length !== test.expect.alerts) failures.push(`expected ${test.expect.alerts} alert(s), got ${alerts.length}`);
        const titles = alerts.map((a) => a.title);
        if (test.expect.titles && JSON.stringify(titles) !== JSON.stringify(test.expect.titles)) {
          failures.push(`expected titles ${JSON.stringify(test.expect.titles)}, got ${JSON.stringify(titles)}`);
        }
        results.push({
          ruleId: loaded.rule.id,
          test: test.name,
          file: loaded.file,
          passed: failures.length === 0,
          message: failures.length ? failures.join("; ") : undefined,
          alerts: alerts.map((a) => ({ id: a.id, title: a.title })),
        });
      } finally {
        await deleteKeyspace(redis, keyspace);
      }
    }
  }
  return results;
}
