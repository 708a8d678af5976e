// Runs in the `sentinel` vitest project, on the primary, replica and Sentinels its global setup starts (TEST_REDIS).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisTopology } from "@vigil/core";
import { runCli } from "../cli.js";
import { TEST_REDIS, testRedisSection } from "../helpers.js";
import { connectError } from "./connect-error.js";
import { TOPOLOGY_PASSWORD, TOPOLOGY_PORTS } from "./topology-ports.js";

const sentinel = TEST_REDIS.sentinel!;
const dir = mkdtempSync(join(tmpdir(), "vigil-sentinel-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error connecting with the test's Sentinel config changed by `overrides`. */
const sentinelError = (overrides: Record<string, unknown>) => connectError({ sentinel: { ...sentinel, ...overrides } });

describe("on a primary and a replica watched by three Sentinels", () => {
  it("connects to the master the Sentinels name, and `vigil status` shows master and replica", async () => {
    const redis = await connectRedis(TEST_REDIS, 10_000);
    try {
      expect(await redis.call("ROLE").then((role) => (role as unknown[])[0])).toBe("master");
    } finally {
      await redis.quit();
    }
    const config = join(dir, "status.yaml");
    writeFileSync(config, `redis: ${testRedisSection(`sentinel-status-${process.pid}`)}\nrules: { paths: [] }\n`);
    const result = await runCli(["--config", config, "status", "--json"]);
    expect(result.stderr).toBe("");
    const topology = (JSON.parse(result.stdout) as { redis: RedisTopology }).redis;
    const [primary, replica] = [TOPOLOGY_PORTS.sentinel, TOPOLOGY_PORTS.sentinel + 1].map(
      (port) => `127.0.0.1:${port}`,
    );
    expect(topology).toEqual({
      mode: "sentinel",
      masterName: "vigiltest",
      nodes: [
        { address: primary, role: "master", holdsVigil: true },
        { address: replica, role: "replica", replicaOf: primary, holdsVigil: true },
      ],
    });
    const text = await runCli(["--config", config, "status"]);
    expect(text.stdout).toContain('redis: sentinel, master "vigiltest"');
  });

  it("says when the Sentinels name no such master, naming the Sentinel and the name", async () => {
    const error = await sentinelError({ masterName: "nosuchmaster" });
    expect(error.problem).toBe("sentinel");
    expect(error.message).toBe(
      `Sentinel ${sentinel.sentinels[0]} names no master "nosuchmaster" (redis.sentinel.masterName) within 1s; check the name against SENTINEL MASTERS on the Sentinels`,
    );
  });

  it("tells the Sentinels' refused credentials from the master's, without either password", async () => {
    const wrong = `wrong-${TOPOLOGY_PASSWORD}`;
    const atSentinel = await sentinelError({ sentinelPassword: wrong });
    expect(atSentinel.problem).toBe("auth");
    expect(atSentinel.message).toMatch(
      new RegExp(
        `^Sentinel ${sentinel.sentinels[0]} refused the credentials in redis.sentinel.sentinelPassword \\(WRONGPASS`,
      ),
    );
    const atMaster = await sentinelError({ password: wrong });
    expect(atMaster.problem).toBe("auth");
    expect(atMaster.message).toMatch(
      new RegExp(
        `^Redis master "vigiltest" at 127.0.0.1:${TOPOLOGY_PORTS.sentinel} \\(named by Sentinel ${sentinel.sentinels[0]}\\) refused the credentials in redis.sentinel \\(WRONGPASS`,
      ),
    );
    for (const error of [atSentinel, atMaster]) expect(error.message).not.toContain(wrong);
  });

  it("says that no Sentinel answers", async () => {
    const error = await sentinelError({ sentinels: ["127.0.0.1:7197"] });
    expect(error.problem).toBe("unreachable");
    expect(error.message).toMatch(
      /^no Sentinel in redis.sentinel.sentinels \(127.0.0.1:7197\) answered within 1s \(127.0.0.1:7197: connect ECONNREFUSED/,
    );
  });
});
