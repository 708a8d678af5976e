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
