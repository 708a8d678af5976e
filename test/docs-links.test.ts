import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./cli.js";

/** README.md, docs/, CHANGELOG.md and every package's and the chart's README: what a clone is read by. */
function documents(): string[] {
  const found = ["README.md", "CHANGELOG.md", "NOTES.md"].map((f) => join(REPO_ROOT, f));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === "node_modules" || entry.startsWith(".") || entry === "dist") continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith(".md")) found.push(path);
    }
  };
  for (const top of ["docs", "packages", "apps", "deploy", "rules", "test", "bench"])
    if (existsSync(join(REPO_ROOT, top))) walk(join(REPO_ROOT, top));
  return found.filter((f) => existsSync(f));
}

/** Relative link targets of a Markdown text (inline links and images; code spans and blocks left out). */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"));
}

describe("the repository's documents", () => {
  it("link only to files and folders that exist in a clone", () => {
    const docs = documents();
    expect(docs.map((d) => relative(REPO_ROOT, d))).toEqual(
      expect.arrayContaining(["README.md", "docs/DESIGN.md", "docs/RELEASING.md", "deploy/helm/vigil/README.md"]),
    );
    const broken: string[] = [];
    for (const doc of docs) {
      for (const target of relativeLinks(readFileSync(doc, "utf8"))) {
        const path = join(dirname(doc), decodeURIComponent(target.split("#")[0]!));
        const inside = !relative(REPO_ROOT, path).startsWith("..");
        if (!inside || !existsSync(path)) broken.push(`${relative(REPO_ROOT, doc)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("find a broken link when there is one (the check itself)", () => {
    expect(relativeLinks("See [design](../shared/DESIGN.md), [x](https://e.example) and `[no](code.md)`.")).toEqual([
      "../shared/DESIGN.md",
    ]);
  });
});
