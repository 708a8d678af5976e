import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acceptEventLine, type AuditEvent, MAX_ALERT_EVENT_IDS } from "@vigil/core";
import { createFileConnector, FileSourceSchema } from "@vigil/connectors";
import { Engine, parseRules, RedisRuleStateStore } from "@vigil/engine";
import { runCli } from "../cli.js";
import { seededRandom, useRedis } from "../helpers.js";
import { BAD_KINDS, hostileLine, SAFE_KINDS, type HostileKind } from "./hostile-records.js";

const dir = mkdtempSync(join(tmpdir(), "vigil-acceptance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SEED = Number(process.env.VIGIL_FAULT_SEED ?? 20261129);

/** What the live file source makes of a file holding just this line. */
async function liveVerdict(line: string): Promise<{ ok: true; event: AuditEvent } | { ok: false; reason: string }> {
  const path = join(dir, `line-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(path, `${line}\n`);
  const connector = createFileConnector(FileSourceSchema.parse({ name: FILE_SOURCE, type: "file", path }));
  try {
    const events: AuditEvent[] = [];
    const refused: string[] = [];
    for await (const page of connector.pull(undefined, { signal: new AbortController().signal, now: new Date() })) {
      events.push(...page.events);
      refused.push(...(page.refused ?? []).map((record) => record.reason));
    }
    // One line: either one event or one refusal (quarantined, the source going on past it).
    expect(events.length + refused.length).toBe(1);
    return events[0] ? { ok: true, event: events[0] } : { ok: false, reason: refused[0]! };
  } finally {
    rmSync(path);
  }
}

const FILE_SOURCE = "file";

describe("one acceptance rule for every way records come in", () => {
  const random = seededRandom(SEED);
  const kinds = [...SAFE_KINDS, ...BAD_KINDS];
  const small = kinds.filter((kind) => kind !== "huge-line" && kind !== "huge-attribute");
  const lines: { kind: HostileKind; text: string }[] = Array.from({ length: 40 }, (_, n) => {
    const kind = small[Math.floor(random() * small.length)]!;
    return { kind, text: hostileLine(kind, n, new Date(Date.UTC(2026, 2, 5, 10, 0, n)).toISOString()) };
  });
  // Every kind at least once.
  for (const [i, kind] of kinds.entries())
    lines.push({ kind, text: hostileLine(kind, 100 + i, "2026-03-05T11:00:00Z") });

  it(`the live file source accepts exactly what acceptEventLine accepts, with the same event (seed ${SEED})`, async () => {
    for (const { kind, text } of lines) {
      // As the file source reads its own lines: its name as their source, ids namespaced by it.
      const core = acceptEventLine(text, undefined, { name: FILE_SOURCE });
      const live = await liveVerdict(text);
      expect({ kind, ok: live.ok }).toEqual({ kind, ok: core.ok });
      expect({ kind, ok: core.ok }).toEqual({ kind, ok: (SAFE_KINDS as readonly HostileKind[]).includes(kind) });
      if (core.ok && live.ok) expect(live.event).toEqual(core.event);
      if (!core.ok && !live.ok) expect(live.reason).toContain(core.reason);
    }
  });

  it("vigil replay reports exactly the refused lines, by number, and evaluates the rest", {
    timeout: 180_000,
  }, async () => {
    const path = join(dir, "replay.jsonl");
    writeFileSync(path, `${lines.map((l) => l.text).join("\n")}\n`);
    const rules = join(dir, "rule.yaml");
    writeFileSync(rules, "id: t.any\nname: Any\nseverity: low\nwhen: { '!=': [{ var: id }, ''] }\n");
    const result = await runCli(["replay", "--rules", rules, "--events", path]);
    const refused = lines.flatMap((l, i) => (acceptEventLine(l.text).ok ? [] : [i + 1]));
    const reported = [...result.stderr.matchAll(/replay\.jsonl:(\d+): /g)].map((m) => Number(m[1]));
    expect(reported).toEqual(refused);
    expect(result.stdout.trim().split("\n")).toHaveLength(lines.length - refused.length);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.code).toBe(1);
  });
});

describe("hostile strings in the window script", () => {
  const { redis, keyspace } = useRedis();
  const { rules } = parseRules(
    "id: t.burst\nname: Burst\nseverity: high\nwhen: { '==': [{ var: action }, login] }\nthreshold: { count: 3, within: 1h, groupBy: [actor.id, target.name] }\n",
    "t.yaml",
  );

  it("evaluates a 200-event batch holding lone surrogates and control characters in ids and group keys", async () => {
    const engine = new Engine(
      rules,
      new RedisRuleStateStore(redis, keyspace(), { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
    );
    const events = Array.from({ length: 200 }, (_, n) => {
      const kind =
        n < 2 ? "huge-attribute" : SAFE_KINDS.filter((k) => k !== "huge-attribute")[n % (SAFE_KINDS.length - 1)]!;
      const accepted = acceptEventLine(
        hostileLine(kind, n, new Date(Date.UTC(2026, 2, 5, 10, 0, n % 60)).toISOString(), {
          target: { name: n % 2 ? "t\ud83d" : "t\u0001" },
        }),
      );
      if (!accepted.ok) throw new Error(accepted.reason);
      return accepted.event;
    });
    const outcome = await engine.processBatch(events, "hostile-batch");
    // Groups: 7 actors × 2 target names, each with ≥ 3 logins inside the hour.
    expect(outcome.alerts).toHaveLength(14);
  });
});
