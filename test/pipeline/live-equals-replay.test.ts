// `vigil run` with file sources raises exactly the alert ids `vigil replay` raises on the same
// events: every shipped rule over the shipped sample (five sources, several of them quiet for long
// stretches, absence and first-seen rules among the rules), and a file whose lines name another source.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis, deleteKeyspace, Keyspace, openQueue } from "@vigil/core";
import { runCli, startCli } from "../cli.js";
import { REDIS_URL, waitUntil } from "../helpers.js";

const SAMPLE = "apps/cli/src/demo/sample-events.jsonl";
const redis = createRedis(REDIS_URL);
const prefixes: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeyspace(redis, new Keyspace(prefix));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await redis.quit();
});

/** The alert ids `vigil replay` prints, and its exit code. */
async function replayIds(args: string[]): Promise<{ ids: string[]; code: number | null; stderr: string }> {
  const result = await runCli(["replay", ...args]);
  const ids = result.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { id: string }).id);
  return { ids: ids.sort(), code: result.code, stderr: result.stderr };
}

/**
 * Runs `vigil run connectors engine` with `sources` until every source has been read to its end
 * and the events queue has settled; returns the alert ids queued to `vigil-alerts`.
 */
async function liveIds(sources: string, rules: string): Promise<{ ids: string[]; prefix: string }> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-live-"));
  dirs.push(dir);
  const prefix = `test-live-${randomUUID()}`;
  prefixes.push(prefix);
  const config = join(dir, "vigil.config.yaml");
  writeFileSync(
    config,
    `redis: { url: "${REDIS_URL}", prefix: ${prefix} }\nsources:\n${sources}\nrules: { paths: [${rules}], watch: false }\nserver: { host: 127.0.0.1, port: 0 }\n`,
  );
  const keyspace = new Keyspace(prefix);
  const events = openQueue("events", redis, keyspace.queuePrefix);
  const alerts = openQueue("alerts", redis, keyspace.queuePrefix);
  const vigil = startCli(["--config", config, "run", "connectors", "engine"]);
  try {
    let settled = 0;
    let last = -1;
    await waitUntil(
      async () => {
        const counts = await events.getJobCounts("waiting", "active", "delayed", "waiting-children", "completed");
        const busy = counts.waiting! + counts.active! + counts.delayed! + counts["waiting-children"]!;
        const done = counts.completed!;
        settled = busy === 0 && done === last && done > 0 ? settled + 1 : 0;
        last = done;
        return settled >= 8;
      },
      90_000,
      "the live pipeline to settle",
    );
    const jobs = await alerts.getJobs(["waiting", "active", "completed", "failed", "delayed"]);
    return { ids: jobs.map((job) => String(job.id)).sort(), prefix };
  } finally {
    vigil.child.kill("SIGTERM");
    await vigil.exited;
    await events.close();
    await alerts.close();
  }
}

describe("live equals replay", () => {
  it("every shipped rule over the shipped sample: the demo's file sources raise exactly replay's alert ids", async () => {
    const replay = await replayIds(["--rules", "rules", "--events", SAMPLE]);
    expect(replay.code).toBe(0);
    expect(replay.ids.length).toBeGreaterThanOrEqual(9);
    // The sample split per source, as `vigil demo --events` configures it: five file sources.
    const dir = mkdtempSync(join(tmpdir(), "vigil-split-"));
    dirs.push(dir);
    const bySource = new Map<string, string[]>();
    for (const line of readFileSync(SAMPLE, "utf8").split("\n").filter(Boolean)) {
      const { source } = JSON.parse(line) as { source: string };
      bySource.set(source, [...(bySource.get(source) ?? []), line]);
    }
    const sources = [...bySource]
      .map(([name, lines]) => {
        writeFileSync(join(dir, `${name}.jsonl`), `${lines.join("\n")}\n`);
        return `  - { name: ${name}, type: file, path: ${join(dir, `${name}.jsonl`)}, pollInterval: 500ms }`;
      })
      .join("\n");
    const live = await liveIds(sources, "rules");
    expect(live.ids).toEqual(replay.ids);
  }, 150_000);

  it("a file whose lines name another source: those lines are quarantined live and refused by replay as that file source", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-named-"));
    dirs.push(dir);
    const line = (id: string, minute: number, action: string, source?: string, token = id) =>
      JSON.stringify({
        id,
        ...(source ? { source } : {}),
        provider: "zendesk",
        time: new Date(Date.UTC(2026, 2, 1, 10, minute)).toISOString(),
        action,
        target: { type: "apitoken", id: token, name: token },
      });
    const file = join(dir, "events.jsonl");
    writeFileSync(
      file,
      `${[
        line("t1", 0, "create"), // no source: the file source's own
        line("t2", 5, "create", "sample"),
        line("t3", 10, "create", "zd"), // impersonates the Zendesk source
        line("t4", 15, "create", "zd"),
        line("u2", 20, "update", "sample", "t2"),
      ].join("\n")}\n`,
    );
    const rules = "rules/zendesk/token-created-not-approved.yaml";
    const replay = await replayIds(["--rules", rules, "--events", file, "--source", "sample"]);
    expect(replay.code).toBe(1); // the two lines naming zd are bad lines for this file source
    expect(replay.stderr).toMatch(/:3: names source "zd", but its lines are source "sample"'s/);
    expect(replay.ids).toHaveLength(1); // t1 not reviewed (t2 was, by u2)
    const live = await liveIds(`  - { name: sample, type: file, path: ${file}, pollInterval: 500ms }`, rules);
    expect(live.ids).toEqual(replay.ids);
    const quarantined = await runCli([
      "--config",
      join(dirs.at(-1)!, "vigil.config.yaml"),
      "sources",
      "quarantine",
      "list",
      "--json",
    ]);
    const reasons = quarantined.stdout
      .trim()
      .split("\n")
      .map((entry) => (JSON.parse(entry) as { reason: string; position: string }).position);
    expect(reasons).toEqual([`${file}:3`, `${file}:4`]);
    // `vigil status` shows the file source's watermark: its end moved the bound to now less its lookback.
    const status = await runCli(["--config", join(dirs.at(-1)!, "vigil.config.yaml"), "status", "--json"]);
    const { watermarks } = JSON.parse(status.stdout) as { watermarks: { source: string; bound?: number }[] };
    expect(watermarks).toEqual([expect.objectContaining({ source: "sample", holdsBack: expect.any(Array) })]);
    expect(watermarks[0]!.bound).toBeGreaterThan(Date.now() - 10 * 60_000);
  }, 150_000);
});
