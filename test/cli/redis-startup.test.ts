import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { REPO_ROOT, runCli } from "../cli.js";
import { waitUntil } from "../helpers.js";
import { freePort, startRedisServer, type OwnRedisServer } from "../faults/redis-server.js";

const PASSWORD = "s3cret-Redis-pw";
const dir = mkdtempSync(join(tmpdir(), "vigil-redis-startup-"));
let server: OwnRedisServer;

beforeAll(async () => {
  server = await startRedisServer({ password: PASSWORD });
});
afterAll(async () => {
  await server.dispose();
});

function configFor(url: string): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `redis: { url: ${JSON.stringify(url)}, prefix: startup-test }\nrules: { paths: [rules] }\n`);
  return file;
}

/** `vigil` as one process (`node --import tsx`, no launcher in between), so signals reach it directly. */
function startVigil(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "apps/cli/src/main.ts"), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, VIGIL_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

// Each test starts the CLI, which takes many seconds on a loaded machine.
describe("vigil at start-up without a usable Redis", { timeout: 180_000 }, () => {
  it("says the credentials were refused, in one line, exit 2, without the password", async () => {
    const url = `redis://:wrong-${PASSWORD}@127.0.0.1:${server.port}`;
    const result = await runCli(["--config", configFor(url), "run", "engine", "--port", "0"]);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      `vigil: Redis at redis://:***@127.0.0.1:${server.port} refused the credentials in redis.url (WRONGPASS invalid username-password pair or user is disabled.)`,
    ]);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it("says so when Redis wants a password and the URL has none", async () => {
    const result = await runCli(["--config", configFor(`redis://127.0.0.1:${server.port}`), "status"]);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      `vigil: Redis at redis://127.0.0.1:${server.port} refused the credentials in redis.url (NOAUTH Authentication required.)`,
    ]);
  });

  it("refuses a malformed URL at once instead of taking it for a socket path", async () => {
    const result = await runCli(["--config", configFor("rediss//127.0.0.1::6397/x"), "run", "engine", "--port", "0"]);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      'vigil: redis.url "rediss//127.0.0.1::6397/x" is not a Redis URL (it does not parse as a URL); expected redis://host[:port][/db] or rediss://…, with user and password before the host when needed',
    ]);
  });

  it("waits a bounded time for a closed port, one JSON line per retry, then exits 2", async () => {
    const port = await freePort();
    const result = await runCli(
      ["--config", configFor(`redis://:${PASSWORD}@127.0.0.1:${port}`), "run", "engine", "--port", "0"],
      { env: { VIGIL_REDIS_WAIT: "2s", VIGIL_LOG_LEVEL: "info" } },
    );
    expect(result.code).toBe(2);
    const stderr = lines(result.stderr);
    const logged = stderr
      .slice(0, -1)
      .map((line) => JSON.parse(line) as { msg: string; attempt: number; retryInMs: number });
    // /healthz answers while it waits; then one line per retry.
    expect(logged[0]?.msg).toBe("health and metrics server listening");
    const retries = logged.slice(1);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.map((r) => r.msg)).toEqual(retries.map(() => "waiting for Redis"));
    expect(retries.map((r) => r.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(retries[1]!.retryInMs).toBeGreaterThan(retries[0]!.retryInMs); // backoff
    expect(stderr.at(-1)).toBe(
      `vigil: Redis at redis://:***@127.0.0.1:${port} did not answer within 2s (connect ECONNREFUSED 127.0.0.1:${port}); start Redis or point redis.url at one`,
    );
    // Bounded by construction: the waits between retries add up to no more than VIGIL_REDIS_WAIT.
    expect(retries.reduce((sum, r) => sum + r.retryInMs, 0)).toBeLessThanOrEqual(2_000);
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it("stops cleanly on SIGTERM while it waits", async () => {
    const port = await freePort();
    const run = startVigil(["--config", configFor(`redis://127.0.0.1:${port}`), "run", "engine", "--port", "0"], {
      VIGIL_REDIS_WAIT: "5m",
    });
    await waitUntil(() => run.output().includes("waiting for Redis"), 90_000, "the first retry line");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    const out = lines(run.output());
    expect(out.every(isJson)).toBe(true);
    expect(out.map((line) => (JSON.parse(line) as { msg: string }).msg).slice(-2)).toEqual([
      "shutting down",
      "stopped",
    ]);
  });
});

describe("vigil while Redis goes away", { timeout: 240_000 }, () => {
  it("logs the outage as JSON lines without the password, notices the return, and shuts down on SIGTERM", async () => {
    const run = startVigil(["--config", configFor(server.url), "run", "engine", "notifier", "--port", "0"]);
    try {
      await waitUntil(() => run.output().includes('"vigil started"'), 90_000, "start-up");
      await server.kill();
      await waitUntil(() => run.output().includes('"redis connection error"'), 30_000, "the outage to be logged");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await server.start();
      await waitUntil(
        () => run.output().includes('"redis connection restored"'),
        60_000,
        "the connection to come back",
      );
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
    } finally {
      run.child.kill("SIGKILL");
    }
    const out = lines(run.output());
    expect(out.filter((line) => !isJson(line))).toEqual([]);
    expect(run.output()).not.toContain(PASSWORD);
    // Each queue and worker reports the same error on every reconnect: written once per window, not hundreds of times.
    expect(out.length).toBeLessThan(60);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ msg: "stopped" });
  });
});
