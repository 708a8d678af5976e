import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT, runCli } from "../cli.js";
import { CHART } from "./helm.js";

const version = (JSON.parse(readFileSync(join(REPO_ROOT, "apps/cli/package.json"), "utf8")) as { version: string })
  .version;

describe("one version for the command, the image and the chart", () => {
  it("is a semantic version that `vigil --version` prints", async () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  it("is the image's version label and the chart's appVersion and version", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "deploy/Dockerfile"), "utf8");
    expect(/^ARG VIGIL_VERSION=(\S+)$/m.exec(dockerfile)?.[1]).toBe(version);
    expect(dockerfile).toMatch(/org\.opencontainers\.image\.version="\$\{VIGIL_VERSION\}"/);
    const chart = parse(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as { version: string; appVersion: string };
    expect(chart.appVersion).toBe(version);
    expect(chart.version).toBe(version);
  });

  it("has its entry in CHANGELOG.md, the newest first", () => {
    const changelog = readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8");
    const released = [...changelog.matchAll(/^## \[?(\d+\.\d+\.\d+[^\]\s]*)\]?/gm)].map((m) => m[1]);
    expect(released[0]).toBe(version);
  });

  it("is MIT-licensed as the image says, with the licence in the repository", () => {
    expect(readFileSync(join(REPO_ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License\n/);
    expect(readFileSync(join(REPO_ROOT, "deploy/Dockerfile"), "utf8")).toMatch(
      /org\.opencontainers\.image\.licenses="MIT"/,
    );
  });
});

describe("the Node lines", () => {
  it("are what engines promises, CI tests and the image runs", () => {
    const engines = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { engines: { node: string } })
      .engines.node;
    const ci = readFileSync(join(REPO_ROOT, ".ci/run"), "utf8");
    const ciMajor = /^NODE24_VERSION=(\d+)\./m.exec(ci)?.[1];
    const imageMajor = /^ARG NODE_IMAGE=node:(\d+)/m.exec(
      readFileSync(join(REPO_ROOT, "deploy/Dockerfile"), "utf8"),
    )?.[1];
    // The machine's own Node (this test runs on it) and the one CI installs: both, and only those, promised.
    const majors = [process.versions.node.split(".")[0], ciMajor];
    expect(imageMajor).toBe(ciMajor);
    expect(engines.split("||").map((range) => /(\d+)/.exec(range)?.[1])).toEqual(
      expect.arrayContaining(majors.filter((m, i) => majors.indexOf(m) === i)),
    );
    expect(ci).toMatch(/"\$node24" node_modules\/vitest\/vitest\.mjs run /);
  });
});
