import { defineConfig } from "vitest/config";
import { TOPOLOGY_PORTS, topologyRedisConfig } from "./test/topologies/topology-ports.js";

/**
 * Test files run a second time against a real Redis Cluster and a real Sentinel setup
 * (test/topologies/): on the cluster every engine test (a key outside its script's slot would be a
 * CROSSSLOT error there) and the pipeline end to end; behind Sentinels, where Vigil talks to one
 * master as to a standalone Redis, the rule-state property tests and the pipeline.
 */
const ON_TOPOLOGY = {
  cluster: ["test/engine/**/*.test.ts", "test/pipeline/pipeline.test.ts", "test/topologies/cluster.test.ts"],
  sentinel: [
    "test/engine/rule-state.property.test.ts",
    "test/pipeline/pipeline.test.ts",
    "test/topologies/sentinel.test.ts",
  ],
};

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests share one Redis and the machine has two cores.
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "standalone",
          include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts", "test/**/*.test.ts"],
          // Each runs in its topology's project.
          exclude: ["test/topologies/cluster.test.ts", "test/topologies/sentinel.test.ts"],
        },
      },
      ...(["cluster", "sentinel"] as const).map((topology) => ({
        extends: true,
        test: {
          name: topology,
          include: ON_TOPOLOGY[topology],
          globalSetup: [`test/topologies/${topology}.setup.ts`],
          env: { VIGIL_TEST_REDIS: JSON.stringify(topologyRedisConfig(topology, TOPOLOGY_PORTS[topology])) },
        },
      })),
    ],
  },
});
