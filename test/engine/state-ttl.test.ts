import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_ALERT_EVENT_IDS, type AuditEvent } from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore } from "@vigil/engine";
import { event, useRedis, keysMatching } from "../helpers.js";

const { redis, keyspace } = useRedis();
const T0 = Date.parse("2026-03-01T00:00:00Z");

const { rules } = parseRules(
  `
id: test.ttl
name: Distinct targets
severity: high
when: { "==": [{ var: action }, destroy] }
threshold: { count: 50, within: 5m, groupBy: [actor.id], distinct: target.id }
title: "{{actor.id}} deleted {{count}} things"
`,
  "inline.yaml",
);

function del(n: number, actor = "alice"): AuditEvent {
  return event({
    id: `e${n}`,
    time: new Date(T0 + n * 1_000).toISOString(),
    action: "destroy",
    actor: { id: actor },
    target: { id: `t${n}` },
  });
}

async function ttls(keys: string[]): Promise<number[]> {
  return Promise.all(keys.map((k) => redis.pttl(k)));
}

describe("threshold state keys always expire", () => {
  it("no rule-state key is left without a TTL by a busy run with trimming", async () => {
    const space = keyspace();
    const engine = new Engine(
      rules,
      new RedisRuleStateStore(redis, space, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
    );
    let n = 0;
    for (let batch = 0; batch < 40; batch++) {
      const events = Array.from({ length: 25 }, () => del(n++ * 20, `actor-${n % 7}`));
      await engine.processBatch(events, randomUUID(), { sources: ["s"] });
      await engine.advance("s", { seq: batch + 1, delivered: Date.parse(events.at(-1)!.time) });
    }
    const keys = await keysMatching(redis, `${space.tag}:rs:*`);
    expect(keys.length).toBeGreaterThan(7);
    const expiring = (await ttls(keys)).filter((ttl) => ttl > 0);
    expect(expiring.length).toBe(keys.length);
  });
});
