/** vitest globalSetup of the `sentinel` project: the primary, replica and Sentinels its test files run on. */
import { startRedisSentinel } from "./redis-topologies.js";
import { TOPOLOGY_PORTS } from "./topology-ports.js";

export default async function setup(): Promise<() => Promise<void>> {
  const sentinel = await startRedisSentinel(TOPOLOGY_PORTS.sentinel);
  return () => sentinel.stop();
}
