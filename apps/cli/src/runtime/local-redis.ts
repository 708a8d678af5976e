import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connectRedis, redactUrl } from "@vigil/core";
import { CliError } from "../context.js";

/** A Redis the demo can use: the configured one if it answers, else one it starts itself. */
export async function ensureRedis(
  url: string,
  log: (line: string) => void,
): Promise<{ url: string; stop(): Promise<void> }> {
  try {
    const redis = await connectRedis(url, 1_500);
    await redis.quit();
    return { url, stop: async () => undefined };
  } catch {
    // fall through: try to start one
  }
  const found = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  if (found.error || found.status !== 0) {
    throw new CliError(
      [
        `nothing answers at ${redactUrl(url)} and redis-server is not installed.`,
        "Install Redis 7 and run this again:",
        "  Debian/Ubuntu: sudo apt-get install redis-server",
        "  macOS:         brew install redis",
        "or point redis.url in vigil.config.yaml at a running Redis.",
      ].join("\n"),
      2,
    );
  }
  const parsed = new URL(url);
  const port = parsed.port || "6379";
  const host = parsed.hostname || "127.0.0.1";
  log(`starting redis-server on ${host}:${port} for the demo`);
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", port, "--bind", host, "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const redis = await connectRedis(url, 500);
      await redis.quit();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new CliError(
          `started redis-server but it does not answer at ${redactUrl(url)}: ${(err as Error).message}`,
          2,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
