import { randomUUID } from "node:crypto";
import type { RedisClient } from "@vigil/core";
import { deleteKeyspace, Keyspace, MAX_ALERT_EVENT_IDS, type Alert, type AuditEvent, type RuleTest } from "@vigil/core";
import { Engine } from "./engine.js";
import type { IpGeo } from "./enrichment/ip-geo.js";
import type { LoadedRule } from "./rule-loader.js";
import { MemoryRuleStateStore } from "./rule-state/memory-rule-state.store.js";
import { RedisRuleStateStore } from "./rule-state/redis-rule-state.store.js";
import { InputSources, OrderedFeed } from "./ordered-feed.js";

export interface RuleTestResult {
  ruleId: string;
  test: string;
  file: string;
  passed: boolean;
  /** What went wrong, when it failed. */
  message?: string;
  alerts: { id: string; title: string; groupKey: Record<string, unknown> }[];
}

const sameGroup = (a: Record<string, unknown>, b: Record<string, unknown>) => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && a[k] === b[k]);
};

/** Compares a test's expectations with the alerts it raised; returns what differs. */
export function checkRuleTest(expect: RuleTest["expect"], alerts: readonly Alert[]): string[] {
  const failures: string[] = [];
  if (alerts.length !== expect.alerts) failures.push(`expected ${expect.alerts} alert(s), got ${alerts.length}`);
  const titles = alerts.map((a) => a.title);
  if (expect.titles && JSON.stringify(titles) !== JSON.stringify(expect.titles)) {
    failures.push(`expected titles ${JSON.stringify(expect.titles)}, got ${JSON.stringify(titles)}`);
  }
  if (expect.groups) {
    const unclaimed = new Set(alerts);
    for (const group of expect.groups) {
      const mine = alerts.filter((a) => sameGroup(a.groupKey, group.group));
      for (const alert of mine) unclaimed.delete(alert);
      if (mine.length !== group.alerts)
        failures.push(`group ${JSON.stringify(group.group)}: expected ${group.alerts} alert(s), got ${mine.length}`);
      const mineTitles = mine.map((a) => a.title);
      if (group.titles && JSON.stringify(mineTitles) !== JSON.stringify(group.titles)) {
        failures.push(
          `group ${JSON.stringify(group.group)}: expected titles ${JSON.stringify(group.titles)}, got ${JSON.stringify(mineTitles)}`,
        );
      }
    }
    for (const alert of unclaimed)
      failures.push(`unexpected alert for group ${JSON.stringify(alert.groupKey)}: ${JSON.stringify(alert.title)}`);
  }
  return failures;
}

/**
 * Runs the `tests:` of every rule through the real engine, each test on a store of its own: the
 * in-memory rule-state store (the kinds' definitions, which the Redis store is tested against), or
 * with `redis`, a Redis keyspace of its own that is deleted afterwards.
 */
export async function runRuleTests(
  rules: readonly LoadedRule[],
  options: {
    /** Run on Redis (`vigil rules test --redis`); by default the in-memory store, no Redis needed. */
    redis?: RedisClient;
    /** IP enrichment, as the engine role runs it (ipGeoFromConfig); events that give `geo` keep theirs. */
    geo?: Pick<IpGeo, "enrich">;
  } = {},
): Promise<RuleTestResult[]> {
  const { redis } = options;
  const results: RuleTestResult[] = [];
  for (const loaded of rules) {
    for (const test of loaded.rule.tests ?? []) {
      const keyspace = new Keyspace(`vigil-ruletest-${randomUUID()}`);
      try {
        const store = redis
          ? new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS })
          : new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS });
        const sources = new InputSources();
        for (const entry of test.events) if (!("watermark" in entry)) sources.add(entry);
        const engine = new Engine([{ ...loaded, rule: { ...loaded.rule, enabled: true } }], store, {
          sources: sources.identities,
          ...(options.geo ? { geo: options.geo } : {}),
        });
        // In the order the test lists its events, as a source would deliver them: events between
        // watermark entries make one batch; at the end, the watermark reaches the last event.
        const feed = new OrderedFeed(engine, "rule-test");
        const alerts: Alert[] = [];
        let batch: AuditEvent[] = [];
        const flush = async () => {
          if (batch.length) alerts.push(...(await feed.batch(batch)).alerts);
          batch = [];
        };
        for (const entry of test.events) {
          if ("watermark" in entry) {
            await flush();
            alerts.push(...(await feed.watermark(Date.parse(entry.watermark), entry.source)));
          } else batch.push(entry);
        }
        await flush();
        alerts.push(...(await feed.end()));
        const failures = checkRuleTest(test.expect, alerts);
        results.push({
          ruleId: loaded.rule.id,
          test: test.name,
          file: loaded.file,
          passed: failures.length === 0,
          message: failures.length ? failures.join("; ") : undefined,
          alerts: alerts.map((a) => ({ id: a.id, title: a.title, groupKey: a.groupKey })),
        });
      } finally {
        if (redis) await deleteKeyspace(redis, keyspace);
      }
    }
  }
  return results;
}
