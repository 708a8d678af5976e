// Runs in the `cluster` vitest project, on the Redis Cluster its global setup starts (TEST_REDIS).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Cluster } from "ioredis";
import {
  connectRedis,
  createRedis,
  deleteKeyspace,
  globPrefix,
  Keyspace,
  type RedisTopology,
  scanKeys,
} from "@vigil/core";
import { RedisRuleStateStore } from "@vigil/engine";
import { runCli } from "../cli.js";
import { TEST_REDIS, testRedisSection, waitUntil } from "../helpers.js";
import { connectError } from "./connect-error.js";
import { TOPOLOGY_PASSWORD } from "./topology-ports.js";

const redis = createRedis(TEST_REDIS);
const dir = mkdtempSync(join(tmpdir(), "vigil-cluster-test-"));
afterAll(async () => {
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

describe("on a Redis Cluster of three primaries with a replica each", () => {
  it("is a cluster connection, and scanning visits every master", async () => {
    expect(redis).toBeInstanceOf(Cluster);
    const cluster = redis as Cluster;
    const tag = `scan-${process.pid}`;
    // 60 hash tags spread over the slots, so over the three masters.
    for (let i = 0; i < 60; i++) await redis.set(`{${tag}-${i}}:k`, "1");
    const perMaster = await Promise.all(
      cluster.nodes("master").map(async (node) => (await node.keys(`{${tag}-*`)).length),
    );
    expect(perMaster.filter((count) => count > 0)).toHaveLength(3);
    const found: string[] = [];
    await scanKeys(redis, `{${tag}-*`, async (keys) => {
      found.push(...keys);
      for (const key of keys) await redis.del(key);
    });
    expect(found).toHaveLength(60);
    expect(new Set(found).size).toBe(60);
  });

  it("deletes a keyspace wherever its slot lives", async () => {
    const keyspace = new Keyspace(`cluster-del-${process.pid}`);
    for (let i = 0; i < 25; i++) await redis.set(keyspace.key("k", i), "1");
    await redis.set(`{cluster-other-${process.pid}}:k`, "1");
    expect(await deleteKeyspace(redis, keyspace)).toBe(25);
    let left = 0;
    await scanKeys(redis, globPrefix(`${keyspace.tag}:`), async (keys) => {
      left += keys.length;
    });
    expect(left).toBe(0);
    expect(await redis.get(`{cluster-other-${process.pid}}:k`)).toBe("1");
    await redis.del(`{cluster-other-${process.pid}}:k`);
  });

  it("has no ready check, nor has the copy BullMQ makes of it for a worker (its reconnect would never settle in a failover)", async () => {
    const cluster = redis as Cluster;
    expect(cluster.options.enableReadyCheck).toBe(false);
    // As BullMQ duplicates a Cluster for a worker's connections (ioredis-client.ts).
    const copy = cluster.duplicate(undefined, {
      redisOptions: { ...cluster.options.redisOptions, connectionName: "w" },
    });
    try {
      expect(copy.options.enableReadyCheck).toBe(false);
      // Its reconnect settles: connect() resolves once it has a slot map.
      await new Promise((resolve) => copy.once("ready", resolve));
      copy.disconnect();
      await new Promise((resolve) => copy.once("end", resolve));
      await copy.connect();
      expect(copy.status).toBe("ready");
      expect(await copy.ping()).toBe("PONG");
    } finally {
      copy.disconnect();
    }
  });

  it("`vigil status` shows the nodes, their roles and slots, and which shard holds Vigil's hash tag", async () => {
    const prefix = `status-${process.pid}`;
    const config = join(dir, "status.yaml");
    writeFileSync(config, `redis: ${testRedisSection(prefix)}\nrules: { paths: [] }\n`);
    const result = await runCli(["--config", config, "status", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const topology = (JSON.parse(result.stdout) as { redis: RedisTopology }).redis;
    expect(topology.mode).toBe("cluster");
    const slot = Number(await (redis as Cluster).cluster("KEYSLOT", `{${prefix}}`));
    expect(topology.slot).toBe(slot);
    const masters = topology.nodes.filter((node) => node.role === "master");
    const replicas = topology.nodes.filter((node) => node.role === "replica");
    expect(masters).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    const holder = masters.filter((node) => node.holdsVigil);
    expect(holder).toHaveLength(1);
    // The holder is the master BullMQ's queues and the rule state of this prefix are on.
    const [host, port] = holder[0]!.address.split(":");
    const owner = (redis as Cluster)
      .nodes("master")
      .find((n) => n.options.host === host && n.options.port === Number(port))!;
    await redis.set(new Keyspace(prefix).key("probe"), "1");
    expect(await owner.exists(new Keyspace(prefix).key("probe"))).toBe(1);
    expect(replicas.filter((node) => node.holdsVigil).map((node) => node.replicaOf)).toEqual([holder[0]!.address]);
    await deleteKeyspace(redis, new Keyspace(prefix));

    const text = await runCli(["--config", config, "status"]);
    expect(text.stdout).toContain(`redis: cluster, every key and queue under {${prefix}} in slot ${slot}`);
  });

  it("spreads rule state over the primaries by its shards, as `vigil status` lists them", async () => {
    const prefix = "shards-spread";
    const keyspace = new Keyspace(prefix);
    const store = new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 60_000, maxEventIds: 10, shards: 6 });
    // One threshold rule, 60 groups: their state lands in the six shards.
    const groups = Array.from({ length: 60 }, (_, i) => `g${i}`);
    await store.apply({
      batchId: "b1",
      eventIds: groups.map((g) => `e-${g}`),
      rules: [
        {
          kind: "threshold",
          key: "spread",
          params: { count: 5, within: 60_000, suppress: 60_000, lateness: 0, ttl: 600_000, distinct: false },
        },
      ],
      updates: groups.map((group, event) => ({ rule: 0, event, group, time: 1_000 + event })),
    });
    const config = join(dir, "shards.yaml");
    writeFileSync(config, `redis: ${testRedisSection(prefix)}\nrules: { paths: [] }\nengine: { stateShards: 6 }\n`);
    const result = await runCli(["--config", config, "status", "--json"]);
    expect(result.code).toBe(0);
    const masters = (JSON.parse(result.stdout) as { redis: RedisTopology }).redis.nodes.filter(
      (node) => node.role === "master",
    );
    // Two shards a primary (the shards' slots are spaced evenly; the primaries hold equal ranges).
    expect(masters.map((node) => node.stateShards!.length)).toEqual([2, 2, 2]);
    expect(masters.flatMap((node) => node.stateShards!).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const master of masters) {
      const [host, port] = master.address.split(":");
      const node = (redis as Cluster)
        .nodes("master")
        .find((n) => n.options.host === host && n.options.port === Number(port))!;
      const held = new Set<number>();
      for (let k = 0; k < 6; k++) if ((await node.keys(`${globPrefix(keyspace.shard(k, 6).tag)}`)).length) held.add(k);
      expect([...held].sort()).toEqual(master.stateShards);
    }
    expect(await deleteKeyspace(redis, keyspace)).toBeGreaterThan(0);
  });

  it("refuses wrong credentials at once, naming the node, without the password", async () => {
    const wrong = `wrong-${TOPOLOGY_PASSWORD}`;
    const error = await connectError({ cluster: { nodes: TEST_REDIS.cluster!.nodes, password: wrong } }, 10_000);
    expect(error.problem).toBe("auth");
    expect(error.message).toMatch(
      new RegExp(
        `^Redis Cluster node ${TEST_REDIS.cluster!.nodes[0]} refused the credentials in redis.cluster \\(WRONGPASS`,
      ),
    );
    expect(error.message).not.toContain(wrong);
  });

  it("says a seed node is no cluster node, and that no seed node answers", async () => {
    const standalone = await connectError({ cluster: { nodes: ["127.0.0.1:6379"] } });
    expect(standalone.problem).toBe("cluster");
    expect(standalone.message).toBe(
      "127.0.0.1:6379 in redis.cluster.nodes is not a Redis Cluster node (cluster support is disabled there); point redis.url at a standalone Redis instead",
    );
    const nobody = await connectError({ cluster: { nodes: ["127.0.0.1:7199", "127.0.0.1:7198"] } });
    expect(nobody.problem).toBe("unreachable");
    expect(nobody.message).toMatch(
      /^no Redis Cluster seed node in redis.cluster.nodes \(127.0.0.1:7199, 127.0.0.1:7198\) answered within 1s \(127.0.0.1:7198: connect ECONNREFUSED/,
    );
  });

  it("says a cluster does not serve every slot (cluster_state:fail), and the CLI exits 2 with that line", async () => {
    // A cluster node no slot was ever assigned to: cluster_state:fail.
    const nodeDir = mkdtempSync(join(dir, "lonely-"));
    const lonely: ChildProcess = spawn(
      "redis-server",
      ["--port", "7190", "--bind", "127.0.0.1", "--save", "", "--dir", nodeDir, "--cluster-enabled", "yes"],
      { stdio: "ignore" },
    );
    const lonelyExited = new Promise((resolve) => lonely.once("exit", resolve));
    try {
      await waitUntil(
        async () => {
          const probe = await connectRedis("redis://127.0.0.1:7190", 500).catch(() => undefined);
          probe?.disconnect();
          return probe !== undefined;
        },
        10_000,
        "the lonely cluster node",
      );
      const error = await connectError({ cluster: { nodes: ["127.0.0.1:7190"] } });
      expect(error.problem).toBe("cluster");
      expect(error.message).toBe(
        `Redis Cluster at 127.0.0.1:7190 is not serving every slot (cluster_state:fail, 0 of 16384 slots ok, 0 failing) for 1s; assign the missing slots or bring their primaries back (redis-cli --cluster check/fix)`,
      );
      const config = join(dir, "fail.yaml");
      writeFileSync(config, `redis: { cluster: { nodes: ["127.0.0.1:7190"] } }\nrules: { paths: [] }\n`);
      const result = await runCli(["--config", config, "status"], { env: { VIGIL_REDIS_WAIT: "1s" } });
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(`vigil: ${error.message}`);

      // Every slot served, but by a node announcing an address Vigil cannot reach (127.0.0.2: the
      // server listens on 127.0.0.1 only), as behind NAT without cluster-announce-ip.
      const node = createRedis("redis://127.0.0.1:7190");
      try {
        await node.config("SET", "cluster-announce-ip", "127.0.0.2");
        await node.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
        await waitUntil(
          async () => String(await node.cluster("INFO")).includes("cluster_state:ok"),
          10_000,
          "cluster_state:ok",
        );
      } finally {
        node.disconnect();
      }
      const announced = await connectError({ cluster: { nodes: ["127.0.0.1:7190"] } }, 2_000);
      expect(announced.problem).toBe("cluster");
      expect(announced.message).toMatch(
        /^Redis Cluster node 127.0.0.2:7190, as 127.0.0.1:7190 announces it in CLUSTER SLOTS, did not answer within 2s \(connect ECONNREFUSED 127.0.0.2:7190\); the addresses nodes announce \(cluster-announce-ip\) must be reachable from Vigil$/,
      );
    } finally {
      lonely.kill("SIGKILL");
      await lonelyExited;
    }
  });
});
