import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { buildArtifact, type BuildResult } from "../../deploy/build.js";

/** Builds the production artifact into a fresh folder outside the repository, removed after the file's tests. */
export async function buildIntoTemp(): Promise<BuildResult & { bin: string }> {
  const parent = mkdtempSync(join(tmpdir(), "vigil-artifact-"));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));
  const built = await buildArtifact(join(parent, "vigil"));
  return { ...built, bin: join(built.out, "dist/vigil.js") };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A process of plain `node` (no tsx, no loader), with only the environment given (plus PATH). */
export function startNode(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): { child: ChildProcess; output: () => { stdout: string; stderr: string }; exited: Promise<RunResult> } {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  child.stdin!.end(options.input ?? "");
  const exited = new Promise<RunResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

export function runNode(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<RunResult> {
  return startNode(args, options).exited;
}
