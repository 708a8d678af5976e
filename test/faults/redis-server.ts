import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "../helpers.js";

export { freePort };

/** A port nothing listens on right now (the OS picks it). */
export interface RedisServerOptions {
  password?: string;
  /** Append-only file on, fsync every write, so a restart reloads everything acknowledged. */
  appendOnly?: boolean;
}

/** A redis-server of a test's own, on a random port, in its own directory. */
export interface OwnRedisServer {
  readonly port: number;
  readonly url: string;
  /** Starts (or restarts, reloading its AOF) the server; resolves once it answers PING. */
  start(): Promise<void>;
  /** SHUTDOWN NOSAVE when it answers, else SIGKILL; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Kills the process (SIGKILL): no chance to write anything more. */
  kill(): Promise<void>;
  /** Stops it for good and deletes its directory. */
  dispose(): Promise<void>;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<OwnRedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "vigil-redis-"));
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  const url = `redis://${auth}127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function answers(): Promise<boolean> {
    const probe = new Redis(url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: 500,
    });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  const server: OwnRedisServer = {
    port,
    url,
    async start() {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""];
      if (options.appendOnly) args.push("--appendonly", "yes", "--appendfsync", "always");
      else args.push("--appendonly", "no");
      if (options.password) args.push("--requirepass", options.password);
      child = spawn("redis-server", args, { stdio: "ignore" });
      const current = child;
      exited = new Promise<void>((resolve) => current.once("exit", () => resolve()));
      const deadline = Date.now() + 10_000;
      while (!(await answers())) {
        if (Date.now() > deadline || current.exitCode !== null)
          throw new Error(`redis-server on port ${port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (!child || child.exitCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
    async dispose() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
