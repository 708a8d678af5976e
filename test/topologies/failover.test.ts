// A primary killed mid-run: on a Redis Cluster (a replica of the master holding Vigil's slot takes
// over) and behind Sentinels (the replica is promoted). `vigil run` keeps going on the new master:
// every alert of every event arrives, each once.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cluster } from "ioredis";
import { createRedis, type RedisConfig } from "@vigil/core";
import { startWebhookSink, type WebhookSink } from "@vigil/simulator";
import { startCli } from "../cli.js";
import { freePort } from "../helpers.js";
import { startRedisCluster, startRedisSentinel } from "./redis-topologies.js";
import { TOPOLOGY_PORTS } from "./topology-ports.js";

const RULES = `id: failover.each
name: Each deletion
severity: high
when: { "==": [{ var: action }, destroy] }
---
id: failover.three
name: Three deletions
severity: high
when: { "==": [{ var: action }, destroy] }
threshold: { count: 3, within: 10m, groupBy: [actor.id] }
suppress: 1h
`;
const EVENTS = 60; // actor u<k> deletes three users: 60 "each" alerts and 20 "three" alerts

function eventLine(i: number): string {
  const id = `e${i}`;
  return JSON.stringify({
    id: `files:${id}`,
    source: "files",
    provider: "zendesk",
    nativeId: id,
    time: new Date(Date.UTC(2026, 2, 1, 9, Math.floor(i / 3) * 10 + (i % 3))).toISOString(),
    action: "destroy",
    category: "delete",
    outcome: "success",
    actor: { id: `u${Math.floor(i / 3)}` },
    target: { type: "user", id },
    attributes: {},
    raw: { id },
  });
}

/** What arrived, as `rule eventIds` lines, sorted; and how many requests (each alert once: as many as lines). */
function received(webhook: WebhookSink): { alerts: string[]; requests: number; ids: number } {
  const alerts = webhook.requests.map((request) => {
    const body = request.json as { ruleId: string; eventIds: string[] };
    return `${body.ruleId} ${body.eventIds.join(",")}`;
  });
  return {
    alerts: [...new Set(alerts)].sort(),
    requests: webhook.requests.length,
    ids: new Set(webhook.requests.map((request) => request.headers["webhook-id"])).size,
  };
}

function expectedAlerts(): string[] {
  const each = Array.from({ length: EVENTS }, (_, i) => `failover.each files:e${i}`);
  const three = Array.from(
    { length: EVENTS / 3 },
    (_, k) => `failover.three files:e${3 * k},files:e${3 * k + 1},files:e${3 * k + 2}`,
  );
  return [...each, ...three].sort();
}

describe("a primary killed while `vigil run` works", { timeout: 180_000 }, () => {
  let webhook: WebhookSink;
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const dir = mkdtempSync(join(tmpdir(), "vigil-failover-"));
  beforeAll(async () => {
    webhook = await startWebhookSink({ port: 0, secret });
  });
  afterAll(async () => {
    await webhook.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts `vigil run` on `redis`, feeds a third of the events, kills the master (`kill`), feeds
   * the second third during the failover, waits for it (`failedOver`), feeds the rest, and waits
   * for every alert.
   */
  async function runThroughFailover(
    name: string,
    redis: RedisConfig,
    kill: () => Promise<void>,
    failedOver: () => Promise<void>,
    stateShards = 1,
  ): Promise<void> {
    webhook.requests.length = 0;
    const events = join(dir, `${name}.jsonl`);
    writeFileSync(events, "");
    writeFileSync(join(dir, "rules.yaml"), RULES);
    const config = join(dir, `${name}.yaml`);
    writeFileSync(
      config,
      `redis: ${JSON.stringify({ ...redis, prefix: `failover-${name}` })}
sources:
  - { name: files, type: file, path: ${events}, pollInterval: 200ms }
rules: { paths: [${join(dir, "rules.yaml")}] }
channels:
  - { name: hook, type: webhook, url: "${webhook.url}", allowInsecureHttp: true, secret: "${secret}" }
routes:
  - { match: { severity: [high] }, channels: [hook] }
notifier: { backoff: 200ms }
engine: { stateShards: ${stateShards} }
server: { host: 127.0.0.1, port: ${await freePort()} }
`,
    );
    const vigil = startCli(["--config", config, "run"]);
    const feed = (from: number, to: number) =>
      appendFileSync(events, Array.from({ length: to - from }, (_, i) => `${eventLine(from + i)}\n`).join(""));
    try {
      feed(0, EVENTS / 3);
      await webhook.waitFor(EVENTS / 3, 60_000);
      await kill();
      feed(EVENTS / 3, (2 * EVENTS) / 3);
      await failedOver();
      feed((2 * EVENTS) / 3, EVENTS);
      await webhook.waitFor(expectedAlerts().length, 90_000).catch((err: unknown) => {
        // The whole output (run with DEBUG=ioredis:* for the connections' side) outlives the test's directory.
        const log = join(tmpdir(), `vigil-failover-${name}-${process.pid}-${Date.now()}.log`);
        writeFileSync(log, vigil.output());
        throw new Error(`${(err as Error).message} (vigil's whole output: ${log})\n${vigil.output().slice(-4000)}`);
      });
      // Anything doubled would arrive a little later: give it the time a retry takes.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const got = received(webhook);
      expect(got.alerts).toEqual(expectedAlerts());
      expect(got.requests).toBe(expectedAlerts().length);
      expect(got.ids).toBe(expectedAlerts().length);
    } finally {
      vigil.child.kill("SIGTERM");
      await vigil.exited;
    }
  }

  it("on a Redis Cluster: the master holding Vigil's queues and two rule-state shards dies, its replica takes over", async () => {
    const cluster = await startRedisCluster(TOPOLOGY_PORTS.failoverCluster);
    const redis = createRedis(cluster.config) as Cluster;
    try {
      const slot = Number(await redis.cluster("KEYSLOT", "{failover-cluster}"));
      const slots = await redis.cluster("SLOTS");
      const holder = slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
      await runThroughFailover(
        "cluster",
        cluster.config,
        () => cluster.kill(holder),
        () => cluster.failedOver(holder),
        6,
      );
      expect(await cluster.primaries()).not.toContain(holder);
    } finally {
      redis.disconnect();
      await cluster.stop();
    }
  });

  it("behind Sentinels: the master dies, the Sentinels promote the replica", async () => {
    const sentinel = await startRedisSentinel(TOPOLOGY_PORTS.failoverSentinel);
    try {
      const master = (await sentinel.master())!;
      await runThroughFailover(
        "sentinel",
        sentinel.config,
        () => sentinel.kill(master),
        () => sentinel.failedOver(master),
      );
      expect(await sentinel.master()).not.toBe(master);
    } finally {
      await sentinel.stop();
    }
  });
});
