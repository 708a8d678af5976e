import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, REPO_ROOT } from "../cli.js";
import { REDIS_URL, waitUntil } from "../helpers.js";
import { buildIntoTemp, runNode, startNode } from "./artifact.js";

type Artifact = Awaited<ReturnType<typeof buildIntoTemp>>;
let artifact: Artifact;
const work = mkdtempSync(join(tmpdir(), "vigil-artifact-work-"));
const SAMPLE = join(REPO_ROOT, "apps/cli/src/demo/sample-events.jsonl");

function* filesUnder(dir: string, skip: (path: string) => boolean = () => false): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) yield* filesUnder(path, skip);
    else yield path;
  }
}

/** Every rule document id in the shipped rules. */
function shippedRuleCount(): number {
  let count = 0;
  for (const file of filesUnder(join(REPO_ROOT, "rules")))
    count += (readFileSync(file, "utf8").match(/^id:/gm) ?? []).length;
  return count;
}

/** Waits for a JSON log line with the given message and returns it. */
async function logLine(
  output: () => { stderr: string },
  msg: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitUntil(
    () => {
      for (const line of output().stderr.split("\n")) {
        if (!line.startsWith("{")) continue;
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.msg === msg) found = record;
      }
      return found !== undefined;
    },
    timeoutMs,
    `log "${msg}"`,
  );
  return found!;
}

beforeAll(async () => {
  artifact = await buildIntoTemp();
}, 120_000);

describe("pnpm build: the production artifact", () => {
  it("is outside the repository, has a bin, carries every workspace Lua asset and the rules, and holds no TypeScript, dev tools, workspace links or symlinks", () => {
    expect(relative(REPO_ROOT, artifact.out).startsWith("..")).toBe(true);
    const pkg = JSON.parse(readFileSync(join(artifact.out, "package.json"), "utf8"));
    expect(pkg.bin).toEqual({ vigil: "dist/vigil.js" });
    expect(readFileSync(artifact.bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(Object.keys(pkg.dependencies)).not.toContain("tsx");
    expect(Object.values(pkg.dependencies as Record<string, string>).every((v) => /^\d+\.\d+\.\d+/.test(v))).toBe(true);

    // Every Lua file any workspace package keeps beside its sources, wherever it lies.
    const lua = [
      ...filesUnder(
        REPO_ROOT,
        (p) => p.includes(`${sep}node_modules`) || p.includes(`${sep}.git`) || p.startsWith(join(REPO_ROOT, "dist")),
      ),
    ]
      .filter((f) => f.endsWith(".lua"))
      .map((f) => relative(REPO_ROOT, f));
    expect(lua.length).toBeGreaterThan(0);
    for (const file of lua)
      expect(readFileSync(join(artifact.out, file), "utf8")).toBe(readFileSync(join(REPO_ROOT, file), "utf8"));
    expect(existsSync(join(artifact.out, "rules"))).toBe(true);

    const all = [...filesUnder(artifact.out)];
    const outsideModules = all.filter((f) => !f.includes(`${sep}node_modules${sep}`));
    expect(outsideModules.filter((f) => /\.(c|m)?tsx?$/.test(f))).toEqual([]);
    for (const map of outsideModules.filter((f) => f.endsWith(".map")))
      expect(JSON.parse(readFileSync(map, "utf8")).sourcesContent).toBeUndefined();
    const modules = readdirSync(join(artifact.out, "node_modules"));
    for (const dev of ["tsx", "typescript", "vitest", "esbuild", "turbo", "@vigil", "kubernetes-models", "@types"])
      expect(modules).not.toContain(dev);
    expect(all.filter((f) => lstatSync(f).isSymbolicLink()).map((f) => relative(artifact.out, f))).toEqual([]);
  });

  it("runs --help with plain node", async () => {
    const result = await runNode([artifact.bin, "--help"], { cwd: work });
    expect(result.code).toBe(0);
    for (const command of ["run", "rules", "replay", "status", "deliveries", "demo", "simulate", "sources"])
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
  });

  it("validates the shipped rules it carries", async () => {
    const result = await runNode([artifact.bin, "rules", "validate", "rules"], { cwd: artifact.out });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`${shippedRuleCount()} rule(s) valid in rules`);
  });

  it("replays the sample to the same alerts as the development command (Lua windows included)", async () => {
    const env = { VIGIL_LOG_LEVEL: "warn" };
    const built = await runNode([artifact.bin, "replay", "--rules", "rules", "--events", SAMPLE], {
      cwd: artifact.out,
      env,
    });
    expect(built.code).toBe(0);
    const dev = await runCli(["replay", "--rules", "rules", "--events", SAMPLE], { env });
    expect(dev.code).toBe(0);
    const alerts = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { id: string; ruleId: string; title: string; count: number });
    const fromBuild = alerts(built.stdout);
    expect(fromBuild.some((a) => a.count > 1)).toBe(true); // a threshold rule fired: the window script ran
    expect(fromBuild.map((a) => [a.id, a.ruleId, a.title, a.count])).toEqual(
      alerts(dev.stdout).map((a) => [a.id, a.ruleId, a.title, a.count]),
    );
  }, 60_000);

  it("carries the IP databases: its replay locates addresses as the development command does", async () => {
    const rule = join(work, "geo-rule.yaml");
    writeFileSync(
      rule,
      'id: geo\nname: Geo\nseverity: low\nwhen: { "!!": [{ var: geo.country }] }\ntitle: "{{ip}} {{geo.country}} {{geo.city}} {{geo.latitude}} {{geo.longitude}}"\n',
    );
    const events = join(work, "geo-events.jsonl");
    writeFileSync(
      events,
      ["81.2.69.160", "2001:4860:4860::8888", "10.0.0.1"]
        .map((ip, i) => JSON.stringify({ id: `g${i}`, time: "2026-03-01T10:00:00Z", ip }))
        .join("\n"),
    );
    const env = { VIGIL_LOG_LEVEL: "warn" };
    const built = await runNode([artifact.bin, "replay", "--rules", rule, "--events", events], {
      cwd: artifact.out,
      env,
    });
    const dev = await runCli(["replay", "--rules", rule, "--events", events], { env });
    const titles = (stdout: string) =>
      stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { title: string }).title);
    expect(built.code).toBe(0);
    expect(titles(built.stdout)).toEqual(titles(dev.stdout));
    expect(titles(built.stdout).map((t) => t.split(" ").slice(0, 3).join(" "))).toEqual([
      "81.2.69.160 GB London",
      "2001:4860:4860::8888 CA Montreal",
    ]);
  }, 60_000);

  it("runs `run engine notifier`, serves Node process metrics with the vigil_ prefix, and exits 0 on SIGTERM", async () => {
    const config = join(work, "run.yaml");
    writeFileSync(
      config,
      `redis: { url: "${REDIS_URL}", prefix: "test-build-${randomUUID()}" }\nserver: { host: 127.0.0.1, port: 0 }\n`,
    );
    const vigil = startNode([artifact.bin, "--config", config, "run", "engine", "notifier"], { cwd: artifact.out });
    try {
      const listening = await logLine(vigil.output, "health and metrics server listening");
      await logLine(vigil.output, "vigil started");
      const base = `http://127.0.0.1:${listening.port as number}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      await waitUntil(async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, "/readyz");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const name of [
        "vigil_process_cpu_seconds_total",
        "vigil_process_resident_memory_bytes",
        "vigil_nodejs_heap_size_used_bytes",
        "vigil_nodejs_eventloop_lag_seconds",
        "vigil_nodejs_gc_duration_seconds",
        "vigil_queue_jobs",
      ]) {
        expect(metrics).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
      }
    } finally {
      vigil.child.kill("SIGTERM");
    }
    const result = await vigil.exited;
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('"msg":"stopped"');
  }, 60_000);

  it("answers /healthz while Redis is down (liveness must not restart pods for a Redis outage), and /readyz 503", async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const config = join(work, "no-redis.yaml");
    writeFileSync(
      config,
      `redis: { url: "redis://127.0.0.1:${closed}", prefix: "test-build-${randomUUID()}" }\nserver: { host: 127.0.0.1, port: 0 }\n`,
    );
    const vigil = startNode([artifact.bin, "--config", config, "run", "connectors", "engine", "notifier"], {
      cwd: artifact.out,
    });
    try {
      const listening = await logLine(vigil.output, "health and metrics server listening");
      const base = `http://127.0.0.1:${listening.port as number}`;
      for (let i = 0; i < 3; i++) {
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        expect((await fetch(`${base}/readyz`)).status).toBe(503);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      vigil.child.kill("SIGKILL"); // its shutdown would wait for Redis up to the 30s bound: not what this test is about
    }
    await vigil.exited;
  }, 60_000);

  it("loads the simulator and SMTP server only for simulate and demo", async () => {
    // With the demo-only npm packages gone, every production command still works...
    const hidden = ["smtp-server", "mailparser", "standardwebhooks"];
    for (const name of hidden)
      renameSync(join(artifact.out, "node_modules", name), join(artifact.out, "node_modules", `${name}.hidden`));
    try {
      expect((await runNode([artifact.bin, "--help"], { cwd: work })).code).toBe(0);
      expect((await runNode([artifact.bin, "rules", "validate", "rules"], { cwd: artifact.out })).code).toBe(0);
      expect(
        (
          await runNode([artifact.bin, "replay", "--rules", "rules", "--events", SAMPLE], {
            cwd: artifact.out,
            env: { VIGIL_LOG_LEVEL: "warn" },
          })
        ).code,
      ).toBe(0);
      const config = join(work, "lazy.yaml");
      writeFileSync(
        config,
        `redis: { url: "${REDIS_URL}", prefix: "test-build-${randomUUID()}" }\nserver: { host: 127.0.0.1, port: 0 }\n`,
      );
      const run = startNode([artifact.bin, "--config", config, "run", "engine", "notifier"], { cwd: artifact.out });
      await logLine(run.output, "vigil started");
      run.child.kill("SIGTERM");
      expect((await run.exited).code).toBe(0);
      // ...while simulate, which needs them, cannot start.
      const simulate = await runNode([artifact.bin, "simulate", "--port", "0"], { cwd: work });
      expect(simulate.code).not.toBe(0);
      expect(simulate.stderr).toMatch(/Cannot find (package|module) '(smtp-server|mailparser|standardwebhooks)'/);
    } finally {
      for (const name of hidden)
        renameSync(join(artifact.out, "node_modules", `${name}.hidden`), join(artifact.out, "node_modules", name));
    }
    // With them back, the lazily loaded chunk serves the providers.
    const simulate = startNode([artifact.bin, "simulate", "--port", "0", "--providers", "zendesk"], { cwd: work });
    await waitUntil(() => simulate.output().stdout.includes("Ctrl-C stops it."), 20_000, "the simulator");
    const url = /zendesk\s+(http:\/\/\S+)/.exec(simulate.output().stdout)?.[1];
    expect(url).toBeDefined();
    simulate.child.kill("SIGTERM");
    expect((await simulate.exited).code).toBe(0);
  }, 90_000);
});
