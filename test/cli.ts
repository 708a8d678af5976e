import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export const REPO_ROOT = join(import.meta.dirname, "..");
const TSX = join(REPO_ROOT, "node_modules/.bin/tsx");
const MAIN = join(REPO_ROOT, "apps/cli/src/main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `vigil` command as a user would, in its own process. */
export function runCli(
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, VIGIL_LOG_LEVEL: "warn", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Starts a long-running `vigil` command (e.g. `run`); the caller stops it. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string> } = {},
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(TSX, [MAIN, ...args], {
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
