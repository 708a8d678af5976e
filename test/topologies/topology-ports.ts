/**
 * Loopback ports of the test topologies (this repository's range is 7100-7199): the shared
 * cluster and Sentinel setups the `cluster` and `sentinel` vitest projects run on, and the ones
 * the failover tests start (and kill nodes of) for themselves.
 */
export const TOPOLOGY_PORTS = {
  /** Cluster nodes on 7100-7105. */
  cluster: 7100,
  /** Data nodes 7110-7111, Sentinels 7120-7122. */
  sentinel: 7110,
  /** The fault suite's cluster-failover scenario (test/faults): 7130-7135. */
  faultsCluster: 7130,
  /** test/topologies/failover.test.ts: cluster 7160-7165, Sentinel 7170-7171 and 7180-7182. */
  failoverCluster: 7160,
  failoverSentinel: 7170,
} as const;

/** The password every node (and Sentinel) of a test topology requires. */
export const TOPOLOGY_PASSWORD = "topology-s3cret";

/** The `redis` config section (before defaults) of a topology started on `basePort`. */
export function topologyRedisConfig(kind: "cluster" | "sentinel", basePort: number, password = TOPOLOGY_PASSWORD) {
  if (kind === "cluster")
    return {
      cluster: {
        nodes: [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`),
        password,
      },
    };
  return {
    sentinel: {
      sentinels: [10, 11, 12].map((i) => `127.0.0.1:${basePort + i}`),
      masterName: "vigiltest",
      password: TOPOLOGY_PASSWORD,
      sentinelPassword: TOPOLOGY_PASSWORD,
    },
  };
}
