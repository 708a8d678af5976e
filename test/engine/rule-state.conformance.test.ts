import { MemoryRuleStateStore, RedisRuleStateStore } from "@vigil/engine";
import { ruleStateConformance } from "../../packages/engine/src/rule-state/rule-state.conformance.js";
import { useRedis } from "../helpers.js";

const { redis, keyspace } = useRedis();

ruleStateConformance(
  "RedisRuleStateStore",
  () => new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: 50 }),
);
ruleStateConformance("MemoryRuleStateStore", () => new MemoryRuleStateStore({ maxEventIds: 50 }));
