import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import ignore from "@balena/dockerignore";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { REPO_ROOT } from "../cli.js";

const text = readFileSync(join(REPO_ROOT, "deploy/Dockerfile"), "utf8");
const dockerfile = DockerfileParser.parse(text);
const rootPackage = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  packageManager: string;
  scripts: Record<string, string>;
};

/** The instructions of each stage, by the stage's name. */
function stages(): Map<string, Instruction[]> {
  const result = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const args = instruction.getArguments().map((a) => a.getValue());
      current = [];
      result.set(args[2] ?? `#${result.size}`, current);
    }
    current?.push(instruction);
  }
  return result;
}
/** Every Lua script under a workspace package (the build copies them all). */
function luaFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".lua")) found.push(relative(REPO_ROOT, path));
    }
  };
  for (const top of ["packages", "apps"]) walk(join(REPO_ROOT, top));
  expect(found.length).toBeGreaterThan(0);
  return found;
}
const args = (instruction: Instruction) => instruction.getArgumentsContent() ?? "";

describe("deploy/Dockerfile (linted: no engine can build it here)", () => {
  it("has no problem dockerfile-utils' linter reports", () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("builds in a stage of its own on an official Node 24 (LTS) image and runs on one", () => {
    const found = stages();
    expect([...found.keys()]).toEqual(["build", "runtime"]);
    const defaultImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    // An image of Docker Hub's official `node` repository, major 24 (an LTS line the engines field promises).
    expect(defaultImage).toMatch(/^node:24(\.\d+){0,2}-(bookworm|bullseye|alpine)[\w.-]*(@sha256:[0-9a-f]{64})?$/);
    for (const [, instructions] of found) expect(args(instructions[0]!)).toMatch(/^\$\{NODE_IMAGE\} AS \w+$/);
  });

  it("makes the application folder with the same build script the tests run, with the pinned pnpm", () => {
    const build = stages().get("build")!;
    const runs = build.filter((i) => i.getKeyword() === "RUN").map(args);
    expect(runs).toContain("pnpm build --out /out/vigil");
    expect(rootPackage.scripts.build).toBe("tsx deploy/build.ts"); // what test/deploy/build.test.ts runs (buildArtifact)
    expect(runs.some((r) => r.includes(`pnpm@${rootPackage.packageManager.split("@")[1]}`))).toBe(true);
    expect(runs).toContain("pnpm install --offline --frozen-lockfile");
  });

  it("runs as uid 1000 from a root-owned /app, with vigil as entrypoint, run as command and NODE_OPTIONS sized for the container", () => {
    const runtime = stages().get("runtime")!;
    const last = (keyword: string) => runtime.filter((i) => i.getKeyword() === keyword).at(-1);
    expect(args(last("USER")!)).toBe("1000:1000");
    expect(JSON.parse(args(last("ENTRYPOINT")!))).toEqual(["vigil"]);
    expect(JSON.parse(args(last("CMD")!))).toEqual(["run"]);
    expect(args(last("WORKDIR")!)).toBe("/app");
    const copy = runtime.find((i) => i.getKeyword() === "COPY")!;
    expect(copy.getTextContent()).toBe("COPY --from=build --chown=root:root /out/vigil /app");
    // The artifact's bin is what `vigil` on the PATH points at.
    expect(
      runtime.some((i) => i.getKeyword() === "RUN" && args(i) === "ln -s /app/dist/vigil.js /usr/local/bin/vigil"),
    ).toBe(true);
    const env = runtime
      .filter((i) => i.getKeyword() === "ENV")
      .map(args)
      .join(" ");
    expect(env).toMatch(/NODE_OPTIONS="[^"]*--max-semi-space-size=64[^"]*"/);
    expect(env).toMatch(/HOME=\/tmp/);
    // Nothing after USER switches back to root.
    expect(runtime.slice(runtime.indexOf(last("USER")!)).filter((i) => i.getKeyword() === "USER")).toHaveLength(1);
  });

  it("has a .dockerignore that keeps node_modules, .git and build output out, and everything the build needs in", () => {
    const rules = ignore().add(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));
    for (const path of [
      "node_modules/x/index.js",
      "packages/core/node_modules/zod/index.js",
      ".git/HEAD",
      "dist/vigil/dist/vigil.js",
      "packages/core/src/duration.test.ts",
    ])
      expect(rules.ignores(path), path).toBe(true);
    const needed = [
      "package.json",
      "pnpm-lock.yaml",
      "pnpm-workspace.yaml",
      ".npmrc",
      "tsconfig.base.json",
      "deploy/build.ts",
      "apps/cli/package.json",
      "apps/cli/src/main.ts",
      "packages/core/src/index.ts",
      "rules/zendesk/mass-user-deletion.yaml",
      ...luaFiles(),
    ];
    for (const path of needed) expect(rules.ignores(path), path).toBe(false);
  });
});
