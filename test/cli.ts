import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const REPO_ROOT = join(import.meta.dirname, "..");
// Node itself runs the CLI with tsx's loader (not the tsx wrapper, which forks a child): a test that
// kills the process on timeout kills the CLI, and leaves no orphan behind.
const TSX_LOADER = pathToFileURL(join(REPO_ROOT, "node_modules/tsx/dist/loader.mjs")).href;
const MAIN = join(REPO_ROOT, "apps/cli/src/main.ts");
const CLI = ["--import", TSX_LOADER, MAIN];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How long `runCli` lets a command run before it kills it (longer than any test that waits for one). */
const RUN_CLI_LIMIT_MS = 280_000;

/**
 * Runs the `vigil` command as a user would, in its own process. A command still running after
 * `RUN_CLI_LIMIT_MS` is killed (its result says so): a test that timed out waiting for it leaves
 * no process behind to load the rest of the run.
 */
export function runCli(
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, VIGIL_LOG_LEVEL: "warn", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const limit = setTimeout(() => {
      stderr += `\n[runCli: still running after ${RUN_CLI_LIMIT_MS} ms, killed]\n`;
      child.kill("SIGKILL");
    }, RUN_CLI_LIMIT_MS);
    limit.unref();
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Starts a long-running `vigil` command (e.g. `run`); the caller stops it. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string> } = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, VIGIL_LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, output: () => output, exited };
}
