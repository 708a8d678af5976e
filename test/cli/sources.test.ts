// `vigil sources list|check|pull`, run as a user would, against the provider simulator.
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuditEventSchema,
  createMetrics,
  createRedis,
  deleteKeyspace,
  Keyspace,
  loadConfig,
  openQueues,
  silentLogger,
  type AuditEvent,
  type VigilQueues,
} from "@vigil/core";
import { VigilConfigSchema } from "@vigil/cli";
import { CheckpointStore, startPollWorker } from "@vigil/connectors";
import { startProviderSimulator, type ProviderSimulator, type ProviderName } from "@vigil/simulator";
import { runCli, type CliResult } from "../cli.js";
import { event, REDIS_URL } from "../helpers.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Two pagination styles: Zendesk follows cursors within a time filter, BloodHound pages by offset. */
const PULLED: { provider: ProviderName; source: string; pageSize: number; nextPage: RegExp }[] = [
  { provider: "zendesk", source: "zendesk-sim", pageSize: 25, nextPage: /[?&]page\[after\]=/ },
  { provider: "bloodhound", source: "bloodhound-sim", pageSize: 35, nextPage: /[?&]offset=[1-9]/ },
];
const RECORDS = 160;

const WRONG_ZENDESK_TOKEN = "zd-sim-api-token-WRONGwrong42";
const CLOSED_PYLON_TOKEN = "pylon-closed-port-token-5e1d";

describe("vigil sources", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cli-sources-"));
  const configPath = join(dir, "vigil.config.yaml");
  const eventsPath = join(dir, "events.jsonl");
  const keyspace = new Keyspace(`test-${randomUUID()}`);
  const redis = createRedis(REDIS_URL);
  const store = new CheckpointStore(redis, keyspace);
  let queues: VigilQueues;
  let sim: ProviderSimulator;
  /** Started before the other tests: the connector retries a refused connection for several seconds. */
  let closedCheck: Promise<CliResult>;
  const vigil = (...args: string[]) => runCli(["--config", configPath, ...args]);

  beforeAll(async () => {
    const now = Date.now();
    sim = await startProviderSimulator({
      providers: ["zendesk", "bloodhound"],
      seed: 7,
      records: { zendesk: RECORDS, bloodhound: RECORDS },
      start: new Date(now - 3 * DAY),
      end: new Date(now - 60_000),
      rateLimit: { zendesk: { requests: 100_000, perMs: 1_000 }, bloodhound: { requests: 100_000, perMs: 1_000 } },
    });
    const zendesk = sim.credentials("zendesk");
    const bloodhound = sim.credentials("bloodhound");
    const common = { startFrom: "30d", rateLimit: { requests: 2_000, per: "1s" }, timeout: "5s" };
    const page = (provider: ProviderName) => PULLED.find((p) => p.provider === provider)!.pageSize;
    const config = {
      redis: { url: REDIS_URL, prefix: keyspace.prefix },
      sources: [
        {
          name: "zendesk-sim",
          type: "zendesk",
          baseUrl: sim.baseUrl("zendesk"),
          allowInsecureHttp: true,
          auth: { email: zendesk.email, token: zendesk.apiToken },
          pageSize: page("zendesk"),
          ...common,
        },
        {
          name: "bloodhound-sim",
          type: "bloodhound",
          baseUrl: sim.baseUrl("bloodhound"),
          allowInsecureHttp: true,
          auth: { tokenId: bloodhound.tokenId, tokenKey: bloodhound.tokenKey },
          pageSize: page("bloodhound"),
          ...common,
        },
        { name: "files", type: "file", path: eventsPath, pollInterval: "30s" },
        {
          name: "zendesk-badauth",
          type: "zendesk",
          baseUrl: sim.baseUrl("zendesk"),
          allowInsecureHttp: true,
          auth: { email: zendesk.email, token: WRONG_ZENDESK_TOKEN },
          ...common,
        },
        {
          name: "pylon-closed",
          type: "pylon",
          baseUrl: `http://127.0.0.1:${await closedPort()}/pylon`,
          allowInsecureHttp: true,
          auth: { token: CLOSED_PYLON_TOKEN },
          ...common,
        },
      ],
    };
    // JSON is YAML: no quoting surprises in URLs or secrets.
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    queues = openQueues(redis, keyspace.queuePrefix);
    closedCheck = vigil("sources", "check", "pylon-closed");
  });

  afterAll(async () => {
    await closedCheck?.catch(() => undefined);
    await queues?.close();
    await sim?.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
  });

  /** Nothing a pull did may reach the pipeline: no checkpoint, no health, no vigil-events job. */
  async function expectUntouched(source: string): Promise<void> {
    expect(await store.get(source)).toBeUndefined();
    expect(await redis.exists(store.checkpointKey(source), store.healthKey(source))).toBe(0);
    const counts = await queues.events.getJobCounts(
      "waiting",
      "active",
      "delayed",
      "prioritized",
      "completed",
      "failed",
    );
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
  }

  function jsonLines(stdout: string): AuditEvent[] {
    expect(stdout.endsWith("\n")).toBe(true);
    return stdout
      .slice(0, -1)
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEvent);
  }

  describe("pull", () => {
    for (const { provider, source, nextPage } of PULLED) {
      it(`prints exactly ${provider}'s records in the span as AuditEvent lines, oldest first, and touches no checkpoint or queue`, async () => {
        const start = Date.now() - 3 * DAY;
        const since = new Date(start + 1 * DAY).toISOString();
        const until = new Date(start + 2 * DAY).toISOString();
        const truth = sim.groundTruth(provider) as unknown as Record<string, unknown>[];
        const inSpan = truth.filter((r) => {
          // Both providers' event time is the record's created_at.
          const t = Date.parse(String(r.created_at));
          return t >= Date.parse(since) && t < Date.parse(until);
        });
        expect(inSpan.length).toBeGreaterThan(10);
        expect(inSpan.length).toBeLessThan(truth.length);
        sim.clearRequestLog();

        const result = await vigil("sources", "pull", source, "--since", since, "--until", until);

        expect(result.code).toBe(0);
        const events = jsonLines(result.stdout);
        expect(events.map((e) => e.nativeId).sort()).toEqual(inSpan.map((r) => String(r.id)).sort());
        expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
        const times = events.map((e) => Date.parse(e.time));
        expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
        const byId = new Map(inSpan.map((r) => [String(r.id), r]));
        for (const e of events) {
          expect(AuditEventSchema.safeParse(e).success).toBe(true);
          expect(e).toMatchObject({ source, provider, id: `${source}:${e.nativeId}` });
          expect(e.raw).toEqual(byId.get(e.nativeId));
        }
        // Several of the provider's pages were read, the way that provider pages.
        const served = sim.requestLog.filter((r) => r.provider === provider && r.status === 200);
        expect(served.length).toBeGreaterThan(1);
        expect(served.some((r) => nextPage.test(decodeURIComponent(r.query)))).toBe(true);
        // Progress and the summary go to stderr, never among the events.
        expect(result.stderr).toContain(`${source}: ${events.length} events from ${since} to ${until}\n`);
        expect(result.stderr).not.toContain('"nativeId"');
        await expectUntouched(source);
      });
    }

    it("prints a file source's events in a span given as a duration, in file order", async () => {
      const now = Date.now();
      const line = (id: string, offsetMs: number) =>
        JSON.stringify(
          event({
            id: `files:${id}`,
            nativeId: id,
            source: "files",
            provider: "zendesk",
            action: "destroy",
            time: new Date(now + offsetMs).toISOString(),
          }),
        );
      writeFileSync(
        eventsPath,
        [
          line("too-old", -5 * DAY),
          line("a", -DAY),
          line("b", -2 * HOUR),
          "",
          line("c", -HOUR),
          line("future", HOUR),
          "",
        ].join("\n"),
      );

      const result = await vigil("sources", "pull", "files", "--since", "2d");

      expect(result.code).toBe(0);
      const events = jsonLines(result.stdout);
      expect(events.map((e) => e.nativeId)).toEqual(["a", "b", "c"]);
      for (const e of events) expect(AuditEventSchema.safeParse(e).success).toBe(true);
      expect(result.stderr).toMatch(/files: 3 events from \S+ to \S+\n$/);
      await expectUntouched("files");
    });

    it("refuses a --since or --until that is neither an ISO time nor a duration, with exit 2", async () => {
      sim.clearRequestLog();
      const [badSince, badUntil] = await Promise.all([
        vigil("sources", "pull", "zendesk-sim", "--since", "yesterday"),
        vigil("sources", "pull", "zendesk-sim", "--since", "2h", "--until", "soon"),
      ]);
      expect(badSince).toMatchObject({ code: 2, stdout: "" });
      expect(badSince.stderr).toBe(
        'vigil: --since "yesterday" is neither an ISO time (2026-03-01T00:00:00Z) nor a duration before now (2h, 7d)\n',
      );
      expect(badUntil).toMatchObject({ code: 2, stdout: "" });
      expect(badUntil.stderr).toMatch(/^vigil: --until "soon" is neither an ISO time/);
      expect(sim.requestLog).toEqual([]);
      await expectUntouched("zendesk-sim");
    });

    it("names the configured sources when asked for an unknown one, with exit 2", async () => {
      const result = await vigil("sources", "pull", "zendesk-prod", "--since", "1h");
      expect(result).toMatchObject({ code: 2, stdout: "" });
      expect(result.stderr).toBe(
        'vigil: no source named "zendesk-prod" in the config (configured: zendesk-sim, bloodhound-sim, files, zendesk-badauth, pylon-closed)\n',
      );
    });
  });

  describe("check", () => {
    it("says ok for a source that answers and accepts its credentials", async () => {
      sim.clearRequestLog();
      const result = await vigil("sources", "check", "zendesk-sim");
      expect(result).toMatchObject({
        code: 0,
        stdout: "ok: zendesk-sim (zendesk) answers and accepts its credentials\n",
      });
      expect(sim.requestLog.map((r) => [r.provider, r.status])).toEqual([["zendesk", 200]]);
      await expectUntouched("zendesk-sim");
    });

    it("says a file source is reachable, not that it accepts credentials it does not have", async () => {
      const result = await vigil("sources", "check", "files");
      expect(result).toMatchObject({ code: 0, stdout: "ok: files (file) is reachable and readable\n" });
    });

    it("exits 1 naming the source when the provider refuses its credentials, without printing the secret", async () => {
      const result = await runCli([
        "--config",
        configPath,
        "--log-level",
        "debug",
        "sources",
        "check",
        "zendesk-badauth",
      ]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      const message = result.stderr.split("\n").find((l) => l.startsWith("vigil: "));
      expect(message).toMatch(
        /^vigil: source zendesk-badauth: authentication failed \(HTTP 401\): check the credentials of source zendesk-badauth /,
      );
      // Debug logs included, neither the token nor the Basic header carrying it appears.
      expect(result.stderr).not.toContain(WRONG_ZENDESK_TOKEN);
      expect(result.stderr).not.toContain(
        Buffer.from(`${sim.credentials("zendesk").email}/token:${WRONG_ZENDESK_TOKEN}`).toString("base64"),
      );
    });

    it("exits 1 with a clear message when the source's baseUrl points at a closed port", async () => {
      const result = await closedCheck;
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      const message = result.stderr.split("\n").find((l) => l.startsWith("vigil: "));
      expect(message).toMatch(
        /^vigil: source pylon-closed: GET \/pylon\/audit-logs failed after \d+ attempts: connection failed \(ECONNREFUSED\)$/,
      );
      expect(result.stderr).not.toContain(CLOSED_PYLON_TOKEN);
    });
  });

  describe("list", () => {
    /** Rows of the text table by source name, cells split on the column gaps. */
    function table(stdout: string): Map<string, Record<string, string>> {
      const [header, ...rows] = stdout.trimEnd().split("\n");
      const columns = header!.split(/\s{2,}/);
      expect(columns).toEqual([
        "source",
        "type",
        "enabled",
        "every",
        "last success",
        "lag",
        "events pulled",
        "quarantined",
        "last error",
      ]);
      return new Map(
        rows.map((row) => {
          const cells = row.split(/\s{2,}/);
          const record = Object.fromEntries(
            columns.map((c, i) => [c, i === columns.length - 1 ? cells.slice(i).join("  ") : cells[i]!]),
          );
          return [record.source!, record];
        }),
      );
    }

    // Last in the file: the poll worker below queues events and stores checkpoints, which the pull tests rule out.
    it("lists every configured source with its type and health, and shows a pull's success and events afterwards", async () => {
      const before = await vigil("sources", "list");
      expect(before.code).toBe(0);
      const rows = table(before.stdout);
      expect(
        [...rows.values()].map((r) => [
          r.source,
          r.type,
          r.enabled,
          r["last success"],
          r["events pulled"],
          r["last error"],
        ]),
      ).toEqual([
        ["zendesk-sim", "zendesk", "yes", "-", "0", "-"],
        ["bloodhound-sim", "bloodhound", "yes", "-", "0", "-"],
        ["files", "file", "yes", "-", "0", "-"],
        ["zendesk-badauth", "zendesk", "yes", "-", "0", "-"],
        ["pylon-closed", "pylon", "yes", "-", "0", "-"],
      ]);
      expect(rows.get("files")!.every).toBe("30s");
      expect(rows.get("zendesk-sim")!.every).toBe("1m");

      // A pull through the poll worker, in this process, on the same keyspace.
      const config = loadConfig({ schema: VigilConfigSchema, path: configPath, env: {} });
      const worker = await startPollWorker({
        config,
        connection: redis,
        keyspace,
        queues,
        logger: silentLogger,
        metrics: createMetrics(),
        schedule: false,
      });
      try {
        const ok = await worker.pullOnce("zendesk-sim");
        expect(ok.error).toBeUndefined();
        expect(ok.events).toBe(RECORDS);
        const refused = await worker.pullOnce("zendesk-badauth");
        expect(refused.error).toMatch(/authentication failed/);
      } finally {
        await worker.close();
      }

      const [after, afterJson] = await Promise.all([vigil("sources", "list"), vigil("sources", "list", "--json")]);
      expect(after.code).toBe(0);
      const afterRows = table(after.stdout);
      expect(afterRows.get("zendesk-sim")).toMatchObject({
        "last success": expect.stringMatching(/^\d+[sm]( \d+s)? ago$/),
        "events pulled": String(RECORDS),
        "last error": "-",
      });
      // Human durations: the largest unit and the next ("6d 3h"), never a count of seconds.
      expect(afterRows.get("zendesk-sim")!.lag).toMatch(/^\d+[smhd]( \d+[smh])?$/);
      expect(afterRows.get("zendesk-badauth")).toMatchObject({ "last success": "-", "events pulled": "0" });
      expect(afterRows.get("zendesk-badauth")!["last error"]).toMatch(
        /^source zendesk-badauth: authentication failed \(HTTP 401\)/,
      );
      expect(afterRows.get("bloodhound-sim")).toMatchObject({
        "last success": "-",
        "events pulled": "0",
        "last error": "-",
      });
      expect(after.stdout).not.toContain(WRONG_ZENDESK_TOKEN);

      expect(afterJson.code).toBe(0);
      const afterListed = JSON.parse(afterJson.stdout) as {
        name: string;
        type: string;
        enabled: boolean;
        pollIntervalMs: number;
        checkpoint?: unknown;
        health: Record<string, unknown>;
      }[];
      expect(afterListed.map((s) => [s.name, s.type, s.enabled, s.pollIntervalMs])).toEqual([
        ["zendesk-sim", "zendesk", true, 60_000],
        ["bloodhound-sim", "bloodhound", true, 60_000],
        ["files", "file", true, 30_000],
        ["zendesk-badauth", "zendesk", true, 60_000],
        ["pylon-closed", "pylon", true, 60_000],
      ]);
      expect(afterListed.find((s) => s.name === "files")).toMatchObject({ health: { eventsPulled: 0 } });
      expect(afterListed.find((s) => s.name === "files")!.checkpoint).toBeUndefined();
      const zendesk = afterListed.find((s) => s.name === "zendesk-sim")!;
      expect(zendesk.health).toMatchObject({
        eventsPulled: RECORDS,
        lastRunEvents: RECORDS,
        lastSuccessAt: expect.any(String),
      });
      expect(Date.parse(String(zendesk.health.lastSuccessAt))).toBeGreaterThan(Date.now() - 60_000);
      expect(zendesk.checkpoint).toEqual(await store.get("zendesk-sim"));
      expect(afterListed.find((s) => s.name === "zendesk-badauth")!.health).toMatchObject({
        eventsPulled: 0,
        lastError: expect.stringContaining("authentication failed"),
      });
    }, 120_000); // three CLI processes and a pull: slow on a busy machine
  });
});
