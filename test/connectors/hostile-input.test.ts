// Records an attacker can shape (a 5,000-level nesting, a date in 2099, ids holding newlines)
// through the live sources' path into the real queue and engine: each is refused alone, with its
// reason, and nothing else is lost, doubled or made late.
import { randomUUID } from "node:crypto";
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { QuarantineStore, startPollWorker, type Connector, type PollWorker } from "@vigil/connectors";
import {
  createMetrics,
  createRedis,
  deleteKeyspace,
  Keyspace,
  MAX_ALERT_EVENT_IDS,
  openQueues,
  silentLogger,
  type AuditEvent,
  type Metrics,
  type VigilQueues,
} from "@vigil/core";
import { Engine, parseRules, RedisRuleStateStore, startEventsWorker } from "@vigil/engine";
import { VigilConfigSchema, type VigilConfigInput } from "@vigil/cli";
import { startProviderSimulator, type ProviderSimulator } from "@vigil/simulator";
import { REPO_ROOT } from "../cli.js";
import { event, REDIS_URL, waitUntil } from "../helpers.js";

const SOURCE = "hostile";
const MASS_DELETION = join(REPO_ROOT, "rules/zendesk/mass-user-deletion.yaml");

/** `depth` arrays nested in one another. */
function nested(depth: number): unknown {
  let value: unknown = "x";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A connector handing over the given pages, one pull each. */
function scripted(pulls: AuditEvent[][]): Connector {
  let pull = 0;
  return {
    source: SOURCE,
    provider: "test",
    async *pull() {
      const events = pulls[pull++] ?? [];
      yield { events, checkpoint: { pull } };
    },
    async check() {},
  };
}

/** The mass-user-deletion rule's first test scenario, as the events a Zendesk source delivers. */
function massDeletionEvents(): AuditEvent[] {
  const file = parseYaml(readFileSync(MASS_DELETION, "utf8")) as { tests: { events: Record<string, unknown>[] }[] };
  return file.tests[0]!.events.map((fields) => event({ ...(fields as { id: string; time: string }), source: SOURCE }));
}

describe("hostile records through the live path (real Redis, real queue, real engine)", () => {
  let redis: ReturnType<typeof createRedis>;
  let keyspace: Keyspace;
  let queues: VigilQueues;
  let metrics: Metrics;
  let dir: string;
  const closers: (() => Promise<unknown>)[] = [];

  beforeEach(() => {
    redis = createRedis(REDIS_URL);
    keyspace = new Keyspace(`test-${randomUUID()}`);
    queues = openQueues(redis, keyspace.queuePrefix);
    metrics = createMetrics();
    dir = mkdtempSync(join(tmpdir(), "vigil-hostile-"));
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await queues.close();
    await deleteKeyspace(redis, keyspace);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pollWorker(sources: VigilConfigInput["sources"], connector?: Connector): Promise<PollWorker> {
    const worker = await startPollWorker({
      config: VigilConfigSchema.parse({ redis: { prefix: keyspace.prefix }, sources }),
      connection: redis,
      keyspace,
      queues,
      logger: silentLogger,
      metrics,
      schedule: false,
      ...(connector ? { connectors: new Map([[SOURCE, connector]]) } : {}),
    });
    closers.push(() => worker.close());
    return worker;
  }

  function engineWorker(rulesText: string, file: string): void {
    const { rules, problems } = parseRules(rulesText, file);
    expect(problems).toEqual([]);
    const engine = new Engine(
      rules,
      new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS }),
      { metrics },
    );
    const worker = startEventsWorker({
      engine,
      connection: redis,
      queuePrefix: keyspace.queuePrefix,
      queues,
      logger: silentLogger,
      metrics,
      concurrency: 2,
    });
    closers.push(() => worker.close());
  }

  /** Waits until every job of `vigil-events` is done, then returns the alerts queued. */
  async function alertsOnceSettled() {
    await waitUntil(
      async () => {
        const counts = await queues.events.getJobCounts("wait", "active", "delayed", "waiting-children", "prioritized");
        return Object.values(counts).every((n) => n === 0);
      },
      20_000,
      "the events queue to drain",
    );
    return queues.alerts.getJobs(["waiting", "completed", "active", "delayed"]);
  }

  const quarantined = async () => new QuarantineStore(redis, keyspace).list(SOURCE);

  it("a file line nested 5,000 levels is quarantined with its reason, and the lines around it are queued", async () => {
    const path = join(dir, "events.jsonl");
    const line = (id: string) => JSON.stringify({ id, time: "2026-03-01T10:00:00Z", action: "login" });
    const deep = `{"id":"deep","time":"2026-03-01T10:00:00Z","attributes":{"x":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    writeFileSync(path, `${line("before")}\n${deep}\n${line("after")}\n`);
    engineWorker('id: every\nname: Every\nseverity: low\nwhen: true\ntitle: "{{id}}"\n', "every.yaml");
    const worker = await pollWorker([{ name: SOURCE, type: "file", path }]);
    const result = await worker.pullOnce(SOURCE);
    expect(result).toMatchObject({ events: 2, quarantined: 1 });
    expect(result.error).toBeUndefined();
    const [entry, ...more] = await quarantined();
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      position: `${path}:2`,
      reason: expect.stringMatching(/^nested deeper than 64 levels/),
    });
    const alerts = await alertsOnceSettled();
    expect(alerts.map((job) => job.data.title).sort()).toEqual([`${SOURCE}:after`, `${SOURCE}:before`]); // a file source's ids are its own;
  });

  describe("a provider record nested 2,500 levels (through the Zendesk simulator)", () => {
    let sim: ProviderSimulator;
    afterAll(async () => sim?.close());

    it("is quarantined with its reason, and every other record of the source is queued", async () => {
      sim = await startProviderSimulator({
        providers: ["zendesk"],
        seed: 16,
        records: { zendesk: 30 },
        start: new Date(Date.now() - 86_400_000),
        end: new Date(Date.now() - 600_000),
        rateLimit: { zendesk: { requests: 100_000, perMs: 1_000 } },
      });
      // An extra field the connector keeps in `raw`, as a provider may add one any day.
      const [hostile] = sim.append("zendesk", [{ action: "update", custom: nested(2500) } as never]);
      const { email, apiToken } = sim.credentials("zendesk");
      const worker = await pollWorker([
        {
          name: SOURCE,
          type: "zendesk",
          baseUrl: sim.baseUrl("zendesk"),
          allowInsecureHttp: true,
          auth: { email, token: apiToken },
          startFrom: "7d",
          lookback: "1m",
          rateLimit: { requests: 5_000, per: "1s" },
          timeout: "5s",
        },
      ]);
      const result = await worker.pullOnce(SOURCE);
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({ events: 30, quarantined: 1 });
      const [entry, ...more] = await quarantined();
      expect(more).toEqual([]);
      expect(entry!.reason).toMatch(/^nested deeper than 64 levels \(at raw\.custom\.0/);
      expect(entry!.raw).toContain(`"nativeId":"${(hostile as { id: number }).id}"`);
    });
  });

  it("an event dated 2099 is quarantined, moves nothing, and the mass deletion after it alerts once with no event late", async () => {
    const events = massDeletionEvents();
    const future = { ...events[0]!, id: "z-2099", nativeId: "z-2099", time: "2099-01-01T00:00:00.000Z" };
    engineWorker(readFileSync(MASS_DELETION, "utf8"), MASS_DELETION);
    const worker = await pollWorker(
      [{ name: SOURCE, type: "file", path: join(dir, "unused.jsonl") }],
      scripted([[future], events]),
    );
    // A page of nothing but the refused event: the pull goes on (it once failed on an empty ZMSCORE).
    const first = await worker.pullOnce(SOURCE);
    expect(first).toMatchObject({ events: 0, quarantined: 1 });
    expect(first.error).toBeUndefined();
    expect(await worker.pullOnce(SOURCE)).toMatchObject({ events: events.length, quarantined: 0 });
    const [entry] = await quarantined();
    expect(entry).toMatchObject({
      reason: "field time: 2099-01-01T00:00:00.000Z is more than 5m ahead of the clock (events.maxFutureSkew)",
    });
    const alerts = await alertsOnceSettled();
    expect(alerts.map((job) => job.data.title)).toEqual(["Mallory Vance deleted 10 Zendesk users"]);
    expect((await metrics.eventsLate.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    // The source's watermark is its newest real event, not 2099.
    const store = new RedisRuleStateStore(redis, keyspace, { seenTtlMs: 3_600_000, maxEventIds: MAX_ALERT_EVENT_IDS });
    expect((await store.sources()).find((s) => s.source === SOURCE)?.delivered).toBe(Date.parse(events.at(-1)!.time));
  });

  it('a batch ["x1", "x2"] after a single event "x1\\nx2" is queued too, and all three alert', async () => {
    const at = (id: string, second: number) =>
      event({ id, source: SOURCE, time: new Date(Date.UTC(2026, 2, 1, 10, 0, second)).toISOString() });
    engineWorker('id: every\nname: Every\nseverity: low\nwhen: true\ntitle: "{{id}}"\n', "every.yaml");
    const worker = await pollWorker(
      [{ name: SOURCE, type: "file", path: join(dir, "unused.jsonl") }],
      scripted([[at("x1\nx2", 0)], [at("x1", 1), at("x2", 2)]]),
    );
    expect(await worker.pullOnce(SOURCE)).toMatchObject({ events: 1 });
    expect(await worker.pullOnce(SOURCE)).toMatchObject({ events: 2 });
    const alerts = await alertsOnceSettled();
    expect(alerts.map((job) => job.data.title).sort()).toEqual(["x1", "x1\nx2", "x2"]);
  });
});
