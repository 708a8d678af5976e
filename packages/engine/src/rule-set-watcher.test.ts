import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, createMetrics } from "@vigil/core";
import { afterEach, describe, expect, it } from "vitest";
import { loadRuleSet, type RuleSet } from "./rule-loader.js";
import { RuleSetWatcher } from "./rule-set-watcher.js";

const rule = (id: string, title: string) => `id: ${id}
name: ${id}
severity: high
when: { "==": [{ var: action }, destroy] }
title: "${title}"
`;

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "info",
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

async function gauge(metrics: ReturnType<typeof createMetrics>, name: string) {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.map((v) => ({ labels: v.labels, value: v.value })) ?? [];
}

describe("RuleSetWatcher", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function setUp(files: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), "vigil-rules-watch-"));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const applied: RuleSet[] = [];
    const metrics = createMetrics();
    const { logger, lines } = captureLogs();
    const initial = loadRuleSet([dir]);
    const watcher = new RuleSetWatcher({
      paths: [dir],
      initial,
      everyMs: 60_000,
      apply: (set) => applied.push(set),
      logger,
      metrics,
    });
    return { dir, watcher, applied, metrics, lines, initial };
  }

  it("applies a changed, valid set and reports its hash", async () => {
    const { dir, watcher, applied, metrics, initial } = setUp({ "a.yaml": rule("a", "one") });
    expect(await gauge(metrics, "vigil_rules_info")).toEqual([{ labels: { hash: initial.hash }, value: 1 }]);
    expect(watcher.check()).toEqual({ outcome: "unchanged", hash: initial.hash });

    writeFileSync(join(dir, "a.yaml"), rule("a", "two"));
    writeFileSync(join(dir, "b.yaml"), rule("b", "new"));
    const check = watcher.check();
    expect(check).toMatchObject({ outcome: "reloaded", rules: 2 });
    expect(applied).toHaveLength(1);
    expect(applied[0]!.rules.map((l) => [l.rule.id, l.rule.title])).toEqual([
      ["a", "two"],
      ["b", "new"],
    ]);
    expect(check.hash).not.toBe(initial.hash);
    expect(watcher.hash).toBe(check.hash);
    expect(await gauge(metrics, "vigil_rules_info")).toEqual([{ labels: { hash: check.hash }, value: 1 }]);
    expect(await gauge(metrics, "vigil_rules_loaded")).toEqual([{ labels: {}, value: 2 }]);
    expect(await gauge(metrics, "vigil_rules_reloads_total")).toEqual([{ labels: {}, value: 1 }]);
    expect(watcher.check().outcome).toBe("unchanged");
  });

  it("keeps the old set when the new one is broken, says where once, and recovers when fixed", async () => {
    const { dir, watcher, applied, metrics, lines, initial } = setUp({ "a.yaml": rule("a", "one") });
    // Line 4 refers to an operator JsonLogic does not have.
    writeFileSync(join(dir, "a.yaml"), rule("a", "one").replace('"=="', '"nope"'));
    const refused = watcher.check();
    expect(refused.outcome).toBe("refused");
    expect(refused.outcome === "refused" && refused.problems).toEqual([
      expect.stringMatching(new RegExp(`^${join(dir, "a.yaml")}:4:\\d+: rule a: when: .*nope`)),
    ]);
    expect(applied).toHaveLength(0);
    expect(watcher.hash).toBe(initial.hash);
    expect(await gauge(metrics, "vigil_rules_info")).toEqual([{ labels: { hash: initial.hash }, value: 1 }]);
    expect(await gauge(metrics, "vigil_rules_reload_failures_total")).toEqual([{ labels: {}, value: 1 }]);
    const logged = lines.filter((l) => l.level === 50).map((l) => l.msg);
    expect(logged).toEqual([
      expect.stringMatching(/a\.yaml:4:\d+: rule a: when: .*nope/),
      "changed rule files refused; the previous rule set stays in force",
    ]);

    // The same broken files again: not counted nor logged twice.
    expect(watcher.check().outcome).toBe("refused");
    expect(lines.filter((l) => l.level === 50)).toHaveLength(2);
    expect(await gauge(metrics, "vigil_rules_reload_failures_total")).toEqual([{ labels: {}, value: 1 }]);
    // The refusal stays visible as long as the broken files do (the chart's alert reads this gauge).
    expect(await gauge(metrics, "vigil_rules_refused")).toEqual([{ labels: {}, value: 1 }]);

    // A YAML syntax error elsewhere is a new failure.
    writeFileSync(join(dir, "b.yaml"), "id: b\nwhen: [unclosed\n");
    expect(watcher.check().outcome).toBe("refused");
    expect(await gauge(metrics, "vigil_rules_reload_failures_total")).toEqual([{ labels: {}, value: 2 }]);

    rmSync(join(dir, "b.yaml"));
    writeFileSync(join(dir, "a.yaml"), rule("a", "fixed"));
    expect(watcher.check()).toMatchObject({ outcome: "reloaded", rules: 1 });
    expect(applied.map((set) => set.rules[0]!.rule.title)).toEqual(["fixed"]);
    expect(await gauge(metrics, "vigil_rules_refused")).toEqual([{ labels: {}, value: 0 }]);
  });

  it("sees a ConfigMap-style update (the ..data symlink swapped to a new folder)", () => {
    const mount = mkdtempSync(join(tmpdir(), "vigil-rules-cm-"));
    dirs.push(mount);
    const version = (name: string, title: string) => {
      mkdirSync(join(mount, name));
      writeFileSync(join(mount, name, "rules.yaml"), rule("a", title));
    };
    version("..2026_11_29_09_00_00.1", "v1");
    symlinkSync("..2026_11_29_09_00_00.1", join(mount, "..data"));
    symlinkSync("..data/rules.yaml", join(mount, "rules.yaml"));
    const initial = loadRuleSet([mount]);
    expect(initial.rules.map((l) => l.rule.title)).toEqual(["v1"]);
    const applied: RuleSet[] = [];
    const watcher = new RuleSetWatcher({ paths: [mount], initial, everyMs: 60_000, apply: (s) => applied.push(s) });

    // What the kubelet does: write the new version beside the old, then swap ..data atomically.
    version("..2026_11_29_09_05_00.2", "v2");
    symlinkSync("..2026_11_29_09_05_00.2", join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    rmSync(join(mount, "..2026_11_29_09_00_00.1"), { recursive: true });

    expect(watcher.check()).toMatchObject({ outcome: "reloaded", rules: 1 });
    expect(applied[0]!.rules.map((l) => l.rule.title)).toEqual(["v2"]);
  });
});
