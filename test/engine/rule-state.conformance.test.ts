import { MemoryRuleStateStore, RedisRuleStateStore } from "@vigil/engine";
import { ruleStateConformance } from "../../packages/engine/src/rule-state/rule-state.conformance.js";
import { useRedis } from "../helpers.js";
import { MAX_ALERT_EVENT_IDS } from "@vigil/core";

const { redis, keyspace } = useRedis();

ruleStateConformance(
  "RedisRuleStateStore",
  () => new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
);
ruleStateConformance("MemoryRuleStateStore", () => new MemoryRuleStateStore({ maxEventIds: MAX_ALERT_EVENT_IDS }));
ruleStateConformance(
  "RedisRuleStateStore over 4 shards",
  () =>
    new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS, shards: 4 }),
);
