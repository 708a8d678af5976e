/**
 * Real Redis topologies for tests, from the machine's `redis-server`: a Redis Cluster of three
 * primaries with one replica each (`redis-cli --cluster create`), and a primary with one replica
 * watched by three Sentinels. Each on loopback ports from a base port given by the test (this
 * repository's tests use 7100-7199), in a directory of its own, stopped and deleted afterwards.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createRedis, parseInfo, RedisConfigSchema, type RedisConfig } from "@vigil/core";
import { TOPOLOGY_PASSWORD, topologyRedisConfig } from "./topology-ports.js";

const run = promisify(execFile);

interface Node {
  readonly port: number;
  child: ChildProcess;
  exited: Promise<void>;
}

function startProcess(args: string[], port: number): Node {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { port, child, exited };
}

async function stopProcess(node: Node): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill("SIGKILL");
  await node.exited;
}

/** Asks one node (a plain connection with no retries) and returns its answer, or undefined when it does not answer. */
async function ask(port: number, password: string | undefined, ...command: string[]): Promise<unknown> {
  const redis = createRedis(`redis://${password ? `:${password}@` : ""}127.0.0.1:${port}`, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return await redis.call(command[0]!, ...command.slice(1));
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const COMMON_ARGS = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"];

export interface TestCluster {
  /** `redis` config section for this cluster (prefix `vigil`; tests set their own). */
  readonly config: RedisConfig;
  readonly ports: readonly number[];
  /** The ports of the primaries now. */
  primaries(): Promise<number[]>;
  /** SIGKILLs the node on `port`. */
  kill(port: number): Promise<void>;
  /** Resolves once every slot is served again (`cluster_state:ok` on every live node) with `port` no longer a primary. */
  failedOver(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a Redis Cluster of three primaries and one replica each on `basePort`..`basePort+5`. */
export async function startRedisCluster(
  basePort: number,
  { password = TOPOLOGY_PASSWORD }: { password?: string } = {},
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cluster-"));
  const ports = Array.from({ length: 6 }, (_, i) => basePort + i);
  const nodes = ports.map((port) => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    return startProcess(
      [
        "--port",
        String(port),
        ...COMMON_ARGS,
        "--dir",
        nodeDir,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "1000",
        "--cluster-replica-validity-factor",
        "0",
        "--requirepass",
        password,
        "--masterauth",
        password,
      ],
      port,
    );
  });
  const stop = async () => {
    for (const node of nodes) await stopProcess(node);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports)
      await until(`cluster node ${port}`, async () => (await ask(port, password, "PING")) === "PONG");
    await run("redis-cli", [
      "-a",
      password,
      "--no-auth-warning",
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ]);
    await until("every node to see cluster_state:ok and every replica in sync", async () => {
      for (const port of ports) {
        const info = parseInfo(await ask(port, password, "CLUSTER", "INFO"));
        if (info.cluster_state !== "ok" || info.cluster_known_nodes !== "6") return false;
        const replication = parseInfo(await ask(port, password, "INFO", "replication"));
        if (replication.role === "slave" && replication.master_link_status !== "up") return false;
      }
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const primaries = async () => {
    const found: number[] = [];
    for (const port of ports) {
      const info = parseInfo(await ask(port, password, "INFO", "replication"));
      if (info.role === "master") found.push(port);
    }
    return found;
  };
  return {
    config: RedisConfigSchema.parse(topologyRedisConfig("cluster", basePort, password)),
    ports,
    primaries,
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (node) await stopProcess(node);
    },
    async failedOver(port) {
      await until(`a replica to take over from ${port}`, async () => {
        const live = ports.filter((p) => p !== port);
        for (const p of live) {
          const info = parseInfo(await ask(p, password, "CLUSTER", "INFO"));
          if (info.cluster_state !== "ok") return false;
        }
        return (await primaries()).length === 3;
      });
    },
    stop,
  };
}

export interface TestSentinel {
  readonly config: RedisConfig;
  readonly masterName: string;
  /** The data nodes' ports (the first starts as the primary). */
  readonly ports: readonly number[];
  readonly sentinelPorts: readonly number[];
  /** The port of the master the Sentinels name now. */
  master(): Promise<number | undefined>;
  kill(port: number): Promise<void>;
  /** Resolves once the Sentinels name a master other than `port` and it answers as one. */
  failedOver(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a primary on `basePort`, its replica on `basePort+1`, and three Sentinels on
 * `basePort+10`..`basePort+12` watching them as master `vigiltest` (quorum 2, down after 1 s).
 */
export async function startRedisSentinel(basePort: number): Promise<TestSentinel> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-sentinel-"));
  const masterName = "vigiltest";
  const ports = [basePort, basePort + 1];
  const sentinelPorts = [basePort + 10, basePort + 11, basePort + 12];
  const auth = ["--requirepass", TOPOLOGY_PASSWORD, "--masterauth", TOPOLOGY_PASSWORD];
  const data = ports.map((port, i) => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    const replicaOf = i === 0 ? [] : ["--replicaof", "127.0.0.1", String(ports[0])];
    return startProcess(["--port", String(port), ...COMMON_ARGS, "--dir", nodeDir, ...auth, ...replicaOf], port);
  });
  const sentinels = sentinelPorts.map((port) => {
    const file = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `requirepass ${TOPOLOGY_PASSWORD}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${ports[0]} 2`,
        `sentinel auth-pass ${masterName} ${TOPOLOGY_PASSWORD}`,
        `sentinel sentinel-pass ${TOPOLOGY_PASSWORD}`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 5000`,
        "",
      ].join("\n"),
    );
    return startProcess([file, "--sentinel"], port);
  });
  const all = [...data, ...sentinels];
  const stop = async () => {
    for (const node of all) await stopProcess(node);
    rmSync(dir, { recursive: true, force: true });
  };
  const master = async (): Promise<number | undefined> => {
    for (const port of sentinelPorts) {
      const address = await ask(port, TOPOLOGY_PASSWORD, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName);
      if (Array.isArray(address)) return Number(address[1]);
    }
    return undefined;
  };
  try {
    await until("the replica in sync and every Sentinel knowing the replica and the other Sentinels", async () => {
      const replication = parseInfo(await ask(ports[1]!, TOPOLOGY_PASSWORD, "INFO", "replication"));
      if (replication.master_link_status !== "up") return false;
      for (const port of sentinelPorts) {
        const info = await ask(port, TOPOLOGY_PASSWORD, "SENTINEL", "MASTER", masterName);
        if (!Array.isArray(info)) return false;
        const fields = Object.fromEntries(
          info.flatMap((value, i, list) => (i % 2 === 0 ? [[String(value), String(list[i + 1])]] : [])),
        );
        if (fields["num-slaves"] !== "1" || fields["num-other-sentinels"] !== "2") return false;
      }
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    config: RedisConfigSchema.parse(topologyRedisConfig("sentinel", basePort)),
    masterName,
    ports,
    sentinelPorts,
    master,
    async kill(port) {
      const node = all.find((n) => n.port === port);
      if (node) await stopProcess(node);
    },
    async failedOver(port) {
      await until(`a Sentinel failover away from ${port}`, async () => {
        const now = await master();
        if (now === undefined || now === port) return false;
        return parseInfo(await ask(now, TOPOLOGY_PASSWORD, "INFO", "replication")).role === "master";
      });
    },
    stop,
  };
}
