// Rule state on one Redis against a Redis Cluster of three primaries, every primary with one
// replica: the same events and rules through the engine, and per primary what the state costs:
// script calls per batch, Redis CPU and keys. On this 2-core machine the nodes share the cores, so the wall-clock rate
// cannot grow; what is measured is how evenly the work spreads, from which the rate of three
// primaries on cores of their own is estimated.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedis, Keyspace, MAX_ALERT_EVENT_IDS, parseInfo, type RedisClient } from "@vigil/core";
import { claimStateShards, Engine, parseRules, RedisRuleStateStore, type LoadedRule } from "@vigil/engine";
import { startRedisCluster } from "../test/topologies/redis-topologies.js";
import { generateEvents, generateRules } from "./workload.js";

/** Batches per watermark mark (a page's worth, as in the engine bench). */
const MARK_EVERY = 25;
const BATCH = 200;

export interface NodeLoad {
  port: number;
  /** Rule-state script calls per batch (and per mark) that reached this node. */
  callsPerBatch: number;
  /** Redis CPU (user + sys) this node spent, µs per event. */
  cpuPerEventUs: number;
  keys: number;
}

export interface TopologyRun {
  label: string;
  shards: number;
  rate: number;
  alerts: number;
  nodes: NodeLoad[];
}

function rules(): LoadedRule[] {
  return generateRules(50, { stateful: true }).flatMap(
    (rule) => parseRules(JSON.stringify(rule), `bench/${rule.id}.json`).rules,
  );
}

async function nodeStats(port: number, password?: string) {
  const redis = createRedis(`redis://${password ? `:${password}@` : ""}127.0.0.1:${port}`);
  try {
    const cpu = parseInfo(await redis.info("cpu"));
    const stats = parseInfo(await redis.info("commandstats"));
    const calls = /calls=(\d+)/.exec(stats.cmdstat_evalsha ?? "")?.[1] ?? "0";
    const evals = /calls=(\d+)/.exec(stats.cmdstat_eval ?? "")?.[1] ?? "0";
    return {
      cpu: Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys),
      calls: Number(calls) + Number(evals),
      keys: Number(await redis.dbsize()),
      role: parseInfo(await redis.info("replication")).role,
    };
  } finally {
    redis.disconnect();
  }
}

async function runOn(
  label: string,
  client: RedisClient,
  ports: number[],
  shards: number,
  events: ReturnType<typeof generateEvents>,
  password?: string,
): Promise<TopologyRun> {
  const keyspace = new Keyspace(`bench-shards-${shards}`);
  await claimStateShards(client, keyspace, shards);
  const engine = new Engine(
    rules(),
    new RedisRuleStateStore(client, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS, shards }),
    { sources: [{ name: "bench" }] },
  );
  const before = await Promise.all(ports.map((port) => nodeStats(port, password)));
  const start = performance.now();
  let alerts = 0;
  let seq = 0;
  let delivered = Number.NEGATIVE_INFINITY;
  let batches = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    alerts += (await engine.processBatch(batch, `b${batches}`, { sources: ["bench"] })).alerts.length;
    for (const event of batch) delivered = Math.max(delivered, Date.parse(event.time));
    if (++batches % MARK_EVERY === 0)
      alerts += (await engine.advance("bench", { seq: ++seq, delivered }, `m${seq}`)).alerts.length;
  }
  const seconds = (performance.now() - start) / 1000;
  const after = await Promise.all(ports.map((port) => nodeStats(port, password)));
  const nodes = ports
    .map((port, i) => ({
      port,
      role: after[i]!.role,
      callsPerBatch: (after[i]!.calls - before[i]!.calls) / batches,
      cpuPerEventUs: ((after[i]!.cpu - before[i]!.cpu) / events.length) * 1e6,
      keys: after[i]!.keys,
    }))
    .filter((node) => node.role === "master")
    .map(({ role: _role, ...node }) => node);
  return { label, shards, rate: events.length / seconds, alerts, nodes };
}

/** The same events and rules on one redis-server (1 shard) and on a 3-primary cluster (`shards` shards). */
export async function runShardsBench(options: {
  events: number;
  shards: number;
  basePort: number;
}): Promise<TopologyRun[]> {
  const events = generateEvents(options.events);
  // The one node has a replica too, as each primary of the cluster has: both pay for feeding one.
  // Each in a directory of its own (a replica's full sync writes an RDB file there).
  const dirs: string[] = [];
  const server = (port: number, ...args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-bench-redis-"));
    dirs.push(dir);
    return spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...args],
      { stdio: "ignore" },
    );
  };
  const single = server(options.basePort + 8);
  const singleReplica = server(options.basePort + 9, "--replicaof", "127.0.0.1", String(options.basePort + 8));
  const cluster = await startRedisCluster(options.basePort);
  try {
    const one = createRedis(`redis://127.0.0.1:${options.basePort + 8}`);
    const replicaSynced = async () => parseInfo(await one.info("replication").catch(() => "")).connected_slaves === "1";
    for (let i = 0; i < 100 && !(await replicaSynced()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const many = createRedis(cluster.config);
    try {
      const runs = [await runOn("1 node, 1 shard", one, [options.basePort + 8], 1, events)];
      const password = cluster.config.cluster?.password;
      runs.push(
        await runOn(
          `3 primaries, ${options.shards} shards`,
          many,
          cluster.ports.slice(),
          options.shards,
          events,
          typeof password === "string" ? password : undefined,
        ),
      );
      return runs;
    } finally {
      one.disconnect();
      many.disconnect();
    }
  } finally {
    single.kill("SIGKILL");
    singleReplica.kill("SIGKILL");
    await cluster.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
