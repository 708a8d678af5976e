/** vitest globalSetup of the `cluster` project: the Redis Cluster its test files run on. */
import { startRedisCluster } from "./redis-topologies.js";
import { TOPOLOGY_PORTS } from "./topology-ports.js";

export default async function setup(): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster(TOPOLOGY_PORTS.cluster);
  return () => cluster.stop();
}
