import clusterKeySlot from "cluster-key-slot";
import { Cluster, type Redis } from "ioredis";
import type { RedisConfig } from "./config.js";
import { parseInfo, type Keyspace, type RedisClient } from "./redis.js";

/** One Redis server as `vigil status` shows it. */
export interface RedisNodeView {
  /** `host:port` as the server is reached. */
  address: string;
  role: "master" | "replica";
  /** A replica's master (`host:port`). */
  replicaOf?: string;
  /** A cluster master's slot ranges, e.g. `0-5460`. */
  slots?: string;
  /** This node serves the slot of Vigil's hash tag (a master), or copies the master that does. */
  holdsVigil: boolean;
  /** A cluster master: the rule-state shards (Keyspace.shard) whose slots it serves. */
  stateShards?: number[];
}

/** Where Vigil's data is: the mode, every node, and which of them holds the keyspace's hash tag. */
export interface RedisTopology {
  mode: "standalone" | "cluster" | "sentinel";
  /** The cluster slot of `{prefix}` (every key and queue of Vigil's is in it). */
  slot?: number;
  /** Sentinel's name of the master. */
  masterName?: string;
  nodes: RedisNodeView[];
}

/** The mode a `redis` config section selects. */
export function redisMode(config: RedisConfig): RedisTopology["mode"] {
  return config.cluster ? "cluster" : config.sentinel ? "sentinel" : "standalone";
}

/** Reads the topology behind a connection made by `createRedis(config)`. */
export async function redisTopology(
  redis: RedisClient,
  config: RedisConfig,
  keyspace: Keyspace,
  stateShards = 1,
): Promise<RedisTopology> {
  if (redis instanceof Cluster) return clusterTopology(redis, keyspace, stateShards);
  const mode = redisMode(config);
  const info = parseInfo(await redis.info("replication"));
  // Through Sentinel, the options name no host: the socket says where the master is.
  const self = redis.stream?.remoteAddress
    ? `${redis.stream.remoteAddress}:${redis.stream.remotePort}`
    : `${redis.options.host}:${redis.options.port}`;
  const nodes: RedisNodeView[] = [
    info.role === "slave"
      ? { address: self, role: "replica", replicaOf: `${info.master_host}:${info.master_port}`, holdsVigil: true }
      : { address: self, role: "master", holdsVigil: true },
  ];
  for (const [field, value] of Object.entries(info)) {
    // slave0:ip=127.0.0.1,port=7111,state=online,offset=…,lag=0
    if (!/^slave\d+$/.test(field)) continue;
    const entry = Object.fromEntries(value.split(",").map((pair) => pair.split("=") as [string, string]));
    nodes.push({ address: `${entry.ip}:${entry.port}`, role: "replica", replicaOf: self, holdsVigil: true });
  }
  return mode === "sentinel" ? { mode, masterName: config.sentinel?.masterName ?? "", nodes } : { mode, nodes };
}

async function clusterTopology(redis: Cluster, keyspace: Keyspace, stateShards: number): Promise<RedisTopology> {
  const slot = Number(await redis.cluster("KEYSLOT", keyspace.tag));
  const shardSlots = keyspace.shards(stateShards).map((shard) => clusterKeySlot(shard.tag));
  // CLUSTER NODES: <id> <ip:port@cport[,hostname]> <flags> <master id|-> <ping> <pong> <epoch> <link> <slot>…
  const text = String(await (redis.nodes("master")[0] as Redis).cluster("NODES"));
  const lines = text
    .trim()
    .split("\n")
    .map((line) => line.split(" "));
  const byId = new Map(lines.map((fields) => [fields[0]!, fields]));
  const address = (fields: string[]) => fields[1]!.split("@")[0]!;
  const serves = (ranges: string[], wanted: number) =>
    ranges.some((range) => {
      if (range.startsWith("[")) return false; // a slot being migrated or imported
      const [from, to = from] = range.split("-").map(Number) as [number, number?];
      return wanted >= from && wanted <= (to ?? from);
    });
  const holder = lines.find((fields) => fields[2]!.includes("master") && serves(fields.slice(8), slot));
  const nodes = lines
    .filter((fields) => !fields[2]!.includes("fail") && !fields[2]!.includes("handshake"))
    .map((fields): RedisNodeView => {
      if (fields[2]!.includes("master"))
        return {
          address: address(fields),
          role: "master",
          slots: fields.slice(8).join(" "),
          holdsVigil: fields === holder,
          stateShards: shardSlots.flatMap((shardSlot, k) => (serves(fields.slice(8), shardSlot) ? [k] : [])),
        };
      const master = byId.get(fields[3]!);
      return {
        address: address(fields),
        role: "replica",
        ...(master ? { replicaOf: address(master) } : {}),
        holdsVigil: master !== undefined && master === holder,
      };
    })
    .sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
  return { mode: "cluster", slot, nodes };
}
