/**
 * `pnpm test:faults`: an operator's bad day, against real processes. Each scenario runs the
 * pipeline (connectors, engine, notifier as separate `vigil run` processes) on its own Redis and
 * compares what reached the SMTP server and the webhook receiver with `vigil replay` on the same
 * input. Prints one line per scenario (expected, delivered, lost, doubled) and exits 1 if any
 * scenario lost, doubled or invented an alert, or if any log line holds a configured secret.
 * Seeded: VIGIL_FAULT_SEED=<n> repeats a run; VIGIL_FAULT_SCENARIOS=a,b runs only those.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../helpers.js";
import { hostileLine, type HostileKind } from "./hostile-records.js";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { makeSecrets, Pipeline, ROLES, RULES, runVigil, sleep, type Outcome, type Role } from "./pipeline-harness.js";
import { freePort, startRedisServer } from "./redis-server.js";
import { startProviderSimulator } from "@vigil/simulator";
import { connectRedis } from "@vigil/core";

const seed = Number(process.env.VIGIL_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const only = process.env.VIGIL_FAULT_SCENARIOS?.split(",").filter(Boolean);
const logDir = mkdtempSync(join(tmpdir(), "vigil-fault-logs-"));
const secrets = makeSecrets();

/** An input file: audit events in time order; failed-login bursts and token creations raise alerts. */
/** Events 5–85 s apart; `sparse`: in bursts of about ten, 2–30 hours apart (a backfill of weeks). */
function generateEvents(
  random: () => number,
  count: number,
  hostile: readonly HostileKind[] = [],
  once: readonly HostileKind[] = [],
  sparse = false,
): string[] {
  // Kinds too heavy to repeat (a 17 MiB line) appear once each, at random lines.
  const onceAt = new Map(once.map((kind) => [Math.floor(random() * count), kind]));
  const lines: string[] = [];
  let t = Date.UTC(2026, 2, 1, 8, 0, 0);
  for (let n = 0; n < count; n++) {
    t += Math.floor(5_000 + random() * 80_000);
    if (sparse && random() < 0.1) t += Math.floor(2 * 3_600_000 + random() * 28 * 3_600_000);
    const actor = `user-${Math.floor(random() * 8)}`;
    const roll = random();
    const fields =
      roll < 0.55
        ? { action: "login", outcome: "failure" }
        : roll < 0.85
          ? { action: "login", outcome: "success" }
          : roll < 0.92
            ? { action: "token.create", outcome: "success" }
            : { action: "read", outcome: "success" };
    const kind =
      onceAt.get(n) ?? (hostile.length && random() < 0.3 ? hostile[Math.floor(random() * hostile.length)]! : "good");
    lines.push(
      hostileLine(kind, n, new Date(t).toISOString(), {
        ...fields,
        category: "other",
        actor: { id: actor },
        target: { name: `t-${n}` },
      }),
    );
  }
  return lines;
}

interface ScenarioResult extends Outcome {
  name: string;
  notes: string;
  /** Outcomes besides the alerts that differ from what the scenario expects (e.g. quarantined records); any fails it. */
  mismatches?: string[];
}

type Scenario = {
  name: string;
  run: (random: () => number) => Promise<ScenarioResult>;
  /**
   * A fault whose fix is not built yet: the outcomes it excuses print as OPEN with their figures
   * instead of failing the suite; anything else it produces still fails.
   */
  open?: { why: string; excuses: (result: ScenarioResult) => boolean };
};

/** Appends the input to the watched file in chunks, so faults land while work is in flight. */
async function feed(pipeline: Pipeline, lines: readonly string[], random: () => number, chunks = 12): Promise<void> {
  writeFileSync(pipeline.eventsPath, "");
  const size = Math.ceil(lines.length / chunks);
  for (let i = 0; i < lines.length; i += size) {
    appendFileSync(
      pipeline.eventsPath,
      lines
        .slice(i, i + size)
        .map((line) => `${line}\n`)
        .join(""),
    );
    await sleep(200 + random() * 400);
  }
}

/** Waits until the connectors' logs say they queued `events` events. */
async function waitForBacklog(pipeline: Pipeline, events: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pulled = [...pipeline.logText().matchAll(/"events":(\d+),[^\n]*"msg":"source pulled"/g)];
    if (pulled.reduce((n, match) => n + Number(match[1]), 0) >= events) return;
    if (Date.now() > deadline) throw new Error("the connectors did not queue the backlog in time");
    await sleep(250);
  }
}

/** The common shape: start, feed, inject faults while feeding, settle, compare. */
async function pipelineScenario(
  name: string,
  random: () => number,
  options: {
    events?: number;
    hostile?: readonly HostileKind[];
    /** Hostile kinds written once each. */
    once?: readonly HostileKind[];
    /** Compare the records quarantined with the lines `vigil replay` refused. */
    checkQuarantine?: boolean;
    replicas?: number;
    /** On a Redis Cluster (Pipeline's `cluster`). */
    cluster?: boolean;
    /** Alerts grouped by rule (groupWait 3s, groupInterval 4s), so kills land inside group waits. */
    grouped?: boolean;
    /** Sparse events (see generateEvents), written all at once: the roles start on a backlog. */
    sparseBacklog?: boolean;
    attempts?: number;
    faults?: (pipeline: Pipeline, random: () => number) => Promise<string>;
    after?: (pipeline: Pipeline) => Promise<string>;
    settleMs?: number;
  } = {},
): Promise<ScenarioResult> {
  const pipeline = new Pipeline(name, secrets, logDir, {
    attempts: options.attempts ?? 6,
    ...(options.cluster ? { cluster: true } : {}),
    grouped: options.grouped ?? false,
  });
  const lines = generateEvents(random, options.events ?? 300, options.hostile, options.once, options.sparseBacklog);
  try {
    await pipeline.start(lines);
    const expected = await pipeline.expectedAlertIds();
    const replicas = options.replicas ?? 1;
    if (options.sparseBacklog) {
      // The connectors queue the whole file first; the other roles then start on that backlog.
      for (let r = 0; r < replicas; r++) pipeline.spawn("connectors");
      await pipeline.waitStarted();
      await feed(pipeline, lines, random, 1);
      await waitForBacklog(pipeline, lines.length);
      for (const role of ROLES) for (let r = 0; r < replicas && role !== "connectors"; r++) pipeline.spawn(role);
    } else for (const role of ROLES) for (let r = 0; r < replicas; r++) pipeline.spawn(role);
    await pipeline.waitStarted();
    const [, notes] = await Promise.all([
      options.sparseBacklog ? Promise.resolve() : feed(pipeline, lines, random),
      options.faults ? options.faults(pipeline, random) : Promise.resolve(""),
    ]);
    let outcome = await pipeline.settle(expected, options.settleMs ?? 60_000);
    let afterNotes = "";
    if (options.after) {
      afterNotes = await options.after(pipeline);
      outcome = await pipeline.settle(expected, 30_000);
    }
    const quarantine = options.checkQuarantine ? await compareQuarantine(pipeline) : undefined;
    return {
      name,
      ...outcome,
      notes: [quarantine?.note, notes, afterNotes].filter(Boolean).join("; "),
      ...(quarantine?.mismatches.length ? { mismatches: quarantine.mismatches } : {}),
    };
  } finally {
    await pipeline.stop();
  }
}

/** The records quarantined (through `vigil sources quarantine list`) against the lines replay refused: the same positions, each once. */
async function compareQuarantine(pipeline: Pipeline): Promise<{ note: string; mismatches: string[] }> {
  const listed = await runVigil(
    ["--config", pipeline.configPath, "sources", "quarantine", "list", "file", "--json"],
    pipeline.env,
  );
  const held = listed.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { position: string }).position);
  const refused = new Set(pipeline.replayRefused);
  const kept = new Set(held);
  const mismatches = [
    ...(listed.code === 0 ? [] : [`quarantine list exit ${listed.code}: ${listed.stderr.trim().slice(0, 200)}`]),
    ...[...refused].filter((position) => !kept.has(position)).map((position) => `not quarantined: ${position}`),
    ...[...kept]
      .filter((position) => !refused.has(position))
      .map((position) => `quarantined, replay accepts: ${position}`),
    ...(held.length === kept.size ? [] : [`${held.length - kept.size} position(s) held twice`]),
  ];
  return { note: `quarantined=${held.length} (replay refused ${refused.size})`, mismatches };
}

/** Kills a random running process of `role` `times` times at random moments, restarting it each time; the second kill of a pair lands while the restarted process takes up the stalled jobs. */
function killRandomly(role: Role, times: number) {
  return async (pipeline: Pipeline, random: () => number): Promise<string> => {
    const moments: string[] = [];
    await sleep(1_000 + random() * 2_000); // work is in flight
    for (let k = 0; k < times; k++) {
      const victims = pipeline.running(role);
      const victim = victims[Math.floor(random() * victims.length)];
      if (!victim) break;
      await pipeline.kill(victim);
      pipeline.spawn(role);
      moments.push(`${role}#${victim.replica}`);
      // Every other kill hits the replacement again as it takes the dead worker's jobs up.
      await sleep(k % 2 === 0 ? 5_500 + random() * 3_000 : 1_000 + random() * 2_000);
    }
    return `SIGKILL ${moments.join(", ")}`;
  };
}

const scenarios: Scenario[] = [
  { name: "baseline", run: (random) => pipelineScenario("baseline", random) },
  {
    name: "kill-engine",
    run: (random) => pipelineScenario("kill-engine", random, { faults: killRandomly("engine", 4) }),
  },
  {
    name: "kill-connectors",
    run: (random) => pipelineScenario("kill-connectors", random, { faults: killRandomly("connectors", 3) }),
  },
  {
    name: "kill-notifier",
    // Grouped by rule: each kill lands inside some group's group_wait or group_interval.
    run: (random) => pipelineScenario("kill-notifier", random, { faults: killRandomly("notifier", 3), grouped: true }),
  },
  {
    name: "replicas",
    // Two replicas of each role start on the backlog of a sparse backfill: they apply its batches
    // out of order, and the default-lateness rule must lose nothing to that.
    run: (random) =>
      pipelineScenario("replicas", random, {
        replicas: 2,
        events: 3000,
        sparseBacklog: true,
        faults: killRandomly("engine", 2),
      }),
  },
  {
    name: "redis-restart",
    run: (random) =>
      pipelineScenario("redis-restart", random, {
        faults: async (pipeline, r) => {
          await sleep(5_000 + r() * 2_000);
          await pipeline.redis.kill();
          await sleep(1_000);
          await pipeline.redis.start();
          await sleep(2_000 + r() * 2_000);
          await pipeline.redis.kill();
          await sleep(15_000); // longer than the workers' reconnect backoff
          await pipeline.redis.start();
          return "Redis SIGKILLed twice, restarted from its AOF after 1 s and 15 s";
        },
      }),
  },
  {
    name: "cluster-failover",
    run: (random) =>
      pipelineScenario("cluster-failover", random, {
        cluster: true,
        faults: async (pipeline, r) => {
          await sleep(4_000 + r() * 2_000); // work is in flight
          const cluster = pipeline.cluster!;
          // The master serving {faults}' slot holds every queue, and two of the six rule-state shards.
          const redis = await connectRedis(cluster.config, 10_000);
          let holder: number;
          try {
            const slot = Number(await redis.cluster("KEYSLOT", "{faults}"));
            const slots = await redis.cluster("SLOTS");
            holder = slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
          } finally {
            redis.disconnect();
          }
          const killedAt = Date.now();
          await cluster.kill(holder);
          await cluster.failedOver(holder);
          return `the primary holding {faults} (127.0.0.1:${holder}) SIGKILLed; its replica took over in ${((Date.now() - killedAt) / 1000).toFixed(1)} s`;
        },
      }),
  },
  {
    name: "webhook-outage",
    run: (random) =>
      pipelineScenario("webhook-outage", random, {
        attempts: 3,
        settleMs: 20_000,
        faults: async (pipeline) => {
          let refused = 0;
          pipeline.webhook.respondWith(() => {
            refused++;
            return 503;
          });
          const startedAt = Date.now();
          // Long enough for deliveries to spend all their attempts.
          // Longer than the attempts: until deliveries have spent them all and failed.
          while ((await pipeline.failedDeliveries()) < 10 && Date.now() - startedAt < 120_000) await sleep(500);
          const failed = await pipeline.failedDeliveries();
          pipeline.webhook.respondWith(() => 200);
          return `webhook answered 503 to ${refused} requests over ${Math.round((Date.now() - startedAt) / 1000)} s, ${failed} deliveries failed`;
        },
        after: async (pipeline) => {
          const retried = await runVigil(
            ["--config", pipeline.configPath, "deliveries", "retry", "--all"],
            pipeline.env,
          );
          return `deliveries retry --all: ${retried.stdout.trim().split("\n").at(-1) ?? ""}`;
        },
      }),
  },
  {
    name: "smtp-outage",
    run: (random) =>
      pipelineScenario("smtp-outage", random, {
        attempts: 3,
        settleMs: 20_000,
        faults: async (pipeline) => {
          let refused = 0;
          pipeline.smtp.rejectWith(() => {
            refused++;
            return { code: 451, message: "try again later" };
          });
          const startedAt = Date.now();
          while ((await pipeline.failedDeliveries()) < 10 && Date.now() - startedAt < 120_000) await sleep(500);
          const failed = await pipeline.failedDeliveries();
          pipeline.smtp.rejectWith(undefined);
          return `SMTP answered 451 to ${refused} messages over ${Math.round((Date.now() - startedAt) / 1000)} s, ${failed} deliveries failed`;
        },
        after: async (pipeline) => {
          const retried = await runVigil(
            ["--config", pipeline.configPath, "jobs", "retry", "--queue", "deliveries", "--all"],
            pipeline.env,
          );
          return `jobs retry --queue deliveries --all: ${retried.stdout.trim().split("\n").at(-1) ?? ""}`;
        },
      }),
  },
  {
    name: "hostile-strings",
    run: (random) =>
      pipelineScenario("hostile-strings", random, {
        hostile: ["lone-surrogate-id", "lone-surrogate-attribute", "control-characters", "partial", "huge-attribute"],
      }),
  },
  {
    name: "bad-records",
    run: (random) =>
      pipelineScenario("bad-records", random, {
        hostile: ["unknown-field", "invalid-json", "bad-time", "huge-id"],
        once: ["huge-line"],
        checkQuarantine: true,
      }),
  },
  {
    name: "huge-attributes",
    run: (random) =>
      pipelineScenario("huge-attributes", random, {
        events: 200,
        hostile: ["two-mib-attribute", "many-large-attributes"],
        checkQuarantine: true,
      }),
  },
  { name: "provider-faults", run: (random) => providerFaults(random) },
  { name: "stateful-sources", run: (random) => statefulSources(random) },
  { name: "hostile-records", run: (random) => hostileRecords(random) },
  { name: "redis-startup", run: () => redisStartup() },
];

/** Rules over any provider's events: busy actors, and every deletion. */
const PROVIDER_RULES = `id: faults.busy-actor
name: Busy actor
severity: high
when: { "!=": [{ var: action }, ""] }
threshold: { count: 4, within: 30m, groupBy: [actor.id] }
lateness: 30d
title: "{{actor.id}} did {{count}} things"
---
id: faults.delete
name: Deletion
severity: critical
when: { "==": [{ var: category }, delete] }
title: "{{actor.id}} deleted {{target.name}}"
`;

/**
 * A Zendesk source through the simulator answering 500s, 429 bursts, answers slower than the
 * source's timeout and malformed pages (truncated JSON, a record missing a field) to a share of
 * the requests. Expected: replay of what a fault-free pull of the same records gives.
 */
async function providerFaults(random: () => number): Promise<ScenarioResult> {
  const now = Date.now();
  const sim = await startProviderSimulator({
    providers: ["zendesk"],
    seed: Math.floor(random() * 1_000_000),
    records: { zendesk: 400 },
    start: new Date(now - 2 * 86_400_000),
    end: new Date(now - 60_000),
    rateLimit: { zendesk: { requests: 100_000, perMs: 1_000 } },
    credentials: { zendesk: { apiToken: secrets.providerToken } },
  });
  const { email } = sim.credentials("zendesk");
  const source = `{ name: zendesk-sim, type: zendesk, baseUrl: ${JSON.stringify(sim.baseUrl("zendesk"))}, allowInsecureHttp: true, auth: { email: ${JSON.stringify(email)}, token: "\${FAULT_PROVIDER_TOKEN}" }, startFrom: 30d, pageSize: 20, pollInterval: 1s, timeout: 1s, rateLimit: { requests: 5000, per: 1s } }`;
  const pipeline = new Pipeline("provider-faults", secrets, logDir, { source, rules: PROVIDER_RULES });
  try {
    await pipeline.start([]);
    // What the source holds, normalized by the same connector, pulled while nothing fails.
    const truth = await runVigil(
      ["--config", pipeline.configPath, "sources", "pull", "zendesk-sim", "--since", "30d"],
      pipeline.env,
    );
    pipeline.log(truth.stderr, "truth");
    writeFileSync(pipeline.eventsPath, truth.stdout);
    const expected = await pipeline.expectedAlertIds();
    sim.clearRequestLog();
    sim.setFaults({
      rate: 0.3,
      kinds: ["500", "429", "slow", "malformed"],
      maxDelayMs: 2_500,
      seed: Math.floor(random() * 1_000_000),
    });
    for (const role of ROLES) pipeline.spawn(role);
    await pipeline.waitStarted();
    const outcome = await pipeline.settle(expected, 120_000);
    const faults = new Map<string, number>();
    for (const entry of sim.requestLog) if (entry.fault) faults.set(entry.fault, (faults.get(entry.fault) ?? 0) + 1);
    const events = truth.stdout.split("\n").filter(Boolean).length;
    const injected = [...faults].map(([kind, n]) => `${kind}×${n}`).join(" ");
    // The simulator corrupts responses, never its records: nothing may be quarantined.
    const listed = await runVigil(
      ["--config", pipeline.configPath, "sources", "quarantine", "list", "zendesk-sim", "--json"],
      pipeline.env,
    );
    const quarantined = listed.stdout.split("\n").filter(Boolean).length;
    return {
      name: "provider-faults",
      ...outcome,
      notes: `${events} events; ${sim.requestLog.length} requests, faults ${injected || "none"}; quarantined=${quarantined}`,
      ...(quarantined || listed.code !== 0
        ? { mismatches: [`${quarantined} intact record(s) quarantined (exit ${listed.code})`] }
        : {}),
    };
  } finally {
    await pipeline.stop();
    await sim.close();
  }
}

/**
 * Absence, newValue and sequence rules that read every source (no provider clause), over three
 * sources: the busy file source, a file nobody appends to after its first lines, and a quiet
 * Pylon workspace (cursor-based: one page, then nothing). The quiet ones move their watermarks at
 * the end of their file and feed; engines and connectors are killed and restarted meanwhile. The
 * live pipeline must raise exactly replay's alert ids: none lost, none doubled, no false absence.
 */
const STATEFUL_RULES = `id: stateful.token-unused
name: Token created and not used
severity: medium
when: { in: [{ var: action }, [token.create, read]] }
absence: { groupBy: [actor.id], after: { "==": [{ var: action }, token.create] }, expect: { "==": [{ var: action }, read] }, within: 20m }
title: "{{actor.id}} created a token and read nothing within 20 minutes"
---
id: stateful.first-action
name: First time a user does an action
severity: low
when: { in: [{ var: action }, [login, token.create, read]] }
newValue: { groupBy: [actor.id], fields: [action, outcome], learning: 0, forgetAfter: 2h }
suppress: 1h
title: "{{actor.id}} did {{value.action}} for the first time"
---
id: stateful.fail-then-success
name: Failures then a success
severity: high
when: { "==": [{ var: action }, login] }
sequence:
  groupBy: [actor.id]
  within: 15m
  steps:
    - { name: failures, when: { "==": [{ var: outcome }, failure] }, count: 3 }
    - { name: success, when: { "==": [{ var: outcome }, success] } }
suppress: 1h
title: "{{actor.id}} logged in after failures"
`;

async function statefulSources(random: () => number): Promise<ScenarioResult> {
  const now = Date.now();
  const sim = await startProviderSimulator({
    providers: ["pylon"],
    seed: Math.floor(random() * 1_000_000),
    records: { pylon: 30 },
    start: new Date(now - 86_400_000),
    end: new Date(now - 3_600_000),
    rateLimit: { pylon: { requests: 100_000, perMs: 1_000 } },
    credentials: { pylon: { token: secrets.providerToken } },
  });
  const quietFile = join(mkdtempSync(join(tmpdir(), "vigil-quiet-")), "quiet.jsonl");
  writeFileSync(
    quietFile,
    `${JSON.stringify({ id: "q1", time: "2026-03-01T07:00:00Z", action: "heartbeat", actor: { id: "svc" } })}\n`,
  );
  const extraSources = [
    `{ name: quiet-file, type: file, path: ${JSON.stringify(quietFile)}, pollInterval: 1s }`,
    `{ name: pylon-quiet, type: pylon, baseUrl: ${JSON.stringify(sim.baseUrl("pylon"))}, allowInsecureHttp: true, auth: { token: "\${FAULT_PROVIDER_TOKEN}" }, startFrom: 2d, pollInterval: 1s, timeout: 2s, rateLimit: { requests: 5000, per: 1s } }`,
  ];
  const pipeline = new Pipeline("stateful-sources", secrets, logDir, { rules: STATEFUL_RULES, extraSources });
  const lines = generateEvents(random, 600);
  try {
    await pipeline.start(lines);
    const expected = await pipeline.expectedAlertIds();
    // The file is whole before the roles start (its lines are not appended later than its lookback
    // allows): the end of each source's input releases every decision, as the end of replay's.
    for (const role of ROLES) pipeline.spawn(role);
    await pipeline.waitStarted();
    const kills: string[] = [];
    await sleep(1_500 + random() * 1_500);
    for (const role of ["engine", "connectors", "engine"] as const) {
      const victim = pipeline.running(role)[0];
      if (!victim) continue;
      await pipeline.kill(victim);
      pipeline.spawn(role);
      kills.push(`${role}#${victim.replica}`);
      await sleep(1_500 + random() * 2_000);
    }
    const outcome = await pipeline.settle(expected, 180_000);
    return {
      name: "stateful-sources",
      ...outcome,
      notes: `3 sources (file, quiet file, quiet Pylon ${sim.groundTruth("pylon").length} records); absence, newValue, sequence; SIGKILL ${kills.join(", ")}`,
    };
  } finally {
    await pipeline.stop();
    await sim.close();
  }
}

/** File lines the acceptance rule refuses, and the start of the reason each is quarantined with. */
const REFUSED_LINES: [HostileKind, RegExp][] = [
  ["deep-nesting", /^nested deeper than 64 levels/],
  ["future-time", /^field time: 2099-01-01T00:00:00Z is more than 5m ahead of the clock/],
  ["invalid-json", /^invalid JSON/],
  ["unknown-field", /^unknown field\(s\) colour/],
  ["huge-id", /^field id: longer than/],
];
/** File lines accepted though hostile: with no action they raise nothing, and must not stall or break anything. */
const ACCEPTED_LINES: HostileKind[] = ["regex-bomb", "control-characters", "lone-surrogate-id"];
/** A rule whose pattern backtracks for ages on the regex-bomb's name under a backtracking engine. */
const REGEX_RULE = `id: faults.letters-only-target
name: Letters-only target
severity: low
when: { matches: [{ var: target.name }, "^([A-Za-z]+ ?)+$"] }
title: "{{target.name}} has letters only"
`;

/**
 * Hostile records among ordinary events, live, through a file source and a simulated Pylon
 * source (which filters nothing by time): each refused one is quarantined with its reason, the
 * others raise nothing, and the ordinary events raise exactly what replay of them alone does.
 */
async function hostileRecords(random: () => number): Promise<ScenarioResult> {
  const now = Date.now();
  const sim = await startProviderSimulator({
    providers: ["pylon"],
    seed: Math.floor(random() * 1_000_000),
    records: { pylon: 150 },
    start: new Date(now - 2 * 86_400_000),
    end: new Date(now - 60_000),
    rateLimit: { pylon: { requests: 100_000, perMs: 1_000 } },
    credentials: { pylon: { token: secrets.providerToken } },
  });
  let deep: unknown = "x";
  for (let i = 0; i < 2_500; i++) deep = [deep];
  const plantedPylon = sim.append("pylon", [
    { metadata: { nested: deep } },
    { created_at: "2099-01-01T00:00:00Z" },
  ] as never) as { id: string }[];
  const pylonSource = `{ name: pylon-sim, type: pylon, baseUrl: ${JSON.stringify(sim.baseUrl("pylon"))}, allowInsecureHttp: true, auth: { token: "\${FAULT_PROVIDER_TOKEN}" }, startFrom: 30d, pageSize: 20, pollInterval: 1s, timeout: 5s, rateLimit: { requests: 5000, per: 1s } }`;
  const pipeline = new Pipeline("hostile-records", secrets, logDir, {
    extraSources: [pylonSource],
    rules: `${RULES}---\n${PROVIDER_RULES}---\n${REGEX_RULE}`,
  });
  // Ordinary events, and hostile lines among them at random places.
  const ordinary = generateEvents(random, 300);
  const entries: { text: string; kind?: HostileKind; n?: number }[] = ordinary.map((text) => ({ text }));
  const kinds = [...REFUSED_LINES.map(([kind]) => kind), ...ACCEPTED_LINES];
  for (const [k, kind] of [...kinds, ...kinds].entries()) {
    const at = Math.floor(random() * entries.length);
    const time = (JSON.parse(ordinary[Math.min(at, ordinary.length - 1)]!) as { time: string }).time;
    const n = 10_000 + k;
    entries.splice(at, 0, { text: hostileLine(kind, n, time, { action: "", category: "other" }), kind, n });
  }
  const lines = entries.map((entry) => entry.text);
  const planted = entries.flatMap((entry, i) => (entry.kind ? [{ kind: entry.kind, n: entry.n, line: i + 1 }] : []));
  try {
    await pipeline.start(lines);
    // Expected: replay of the ordinary events alone: the file's, and a pull of Pylon but the planted records.
    const truth = await runVigil(
      ["--config", pipeline.configPath, "sources", "pull", "pylon-sim", "--since", "30d"],
      pipeline.env,
    );
    pipeline.log(truth.stderr, "truth");
    const plantedIds = new Set(plantedPylon.map((record) => `pylon-sim:${record.id}`));
    const pylonEvents = truth.stdout
      .split("\n")
      .filter((line) => line && !plantedIds.has((JSON.parse(line) as { id: string }).id));
    const ordinaryPath = join(pipeline.dir, "ordinary.jsonl");
    writeFileSync(ordinaryPath, [...ordinary, ...pylonEvents].map((line) => `${line}\n`).join(""));
    const expected = await pipeline.expectedAlertIds(ordinaryPath);
    for (const role of ROLES) pipeline.spawn(role);
    await pipeline.waitStarted();
    const outcome = await pipeline.settle(expected, 90_000);

    const mismatches: string[] = [];
    if (pipeline.replayRefused.length)
      mismatches.push(`replay refused ordinary lines ${pipeline.replayRefused.join(", ")}`);
    const listed = await runVigil(
      ["--config", pipeline.configPath, "sources", "quarantine", "list", "--json"],
      pipeline.env,
    );
    const held = listed.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { source: string; position: string; reason: string });
    const fileHeld = held.filter((entry) => entry.source === "file");
    for (const { kind, n, line } of planted) {
      const reason = REFUSED_LINES.find(([refused]) => refused === kind)?.[1];
      // The file connector refuses what a line alone shows (at file:line); the time against the
      // clock is judged as the events are queued, by event id.
      const position = kind === "future-time" ? `event "file:${n}"` : `${pipeline.eventsPath}:${line}`;
      const entry = fileHeld.find((e) => e.position === position);
      if (reason && !entry) mismatches.push(`${kind} (line ${line}) not quarantined`);
      else if (reason && entry && !reason.test(entry.reason))
        mismatches.push(`${kind} (line ${line}) quarantined as ${entry.reason.slice(0, 80)}`);
      else if (!reason && entry) mismatches.push(`${kind} (line ${line}) quarantined: ${entry.reason.slice(0, 80)}`);
    }
    if (fileHeld.length !== REFUSED_LINES.length * 2)
      mismatches.push(`file quarantine holds ${fileHeld.length}, expected ${REFUSED_LINES.length * 2}`);
    const pylonHeld = held.filter((entry) => entry.source === "pylon-sim");
    for (const reason of [
      /^nested deeper than 64 levels/,
      /^field time: 2099-01-01T00:00:00\.000Z is more than 5m ahead/,
    ])
      if (!pylonHeld.some((entry) => reason.test(entry.reason)))
        mismatches.push(`pylon: nothing quarantined as ${reason.source}`);
    if (pylonHeld.length !== 2) mismatches.push(`pylon quarantine holds ${pylonHeld.length}, expected 2`);
    const slowest = await slowestBatch(pipeline);
    if (slowest.ms > 5_000) mismatches.push(`a batch took ${slowest.ms} ms`);
    return {
      name: "hostile-records",
      ...outcome,
      notes: `${ordinary.length} + ${pylonEvents.length} ordinary events, ${planted.length} hostile lines and ${plantedPylon.length} hostile Pylon records; quarantined file=${fileHeld.length} pylon=${pylonHeld.length}; slowest of ${slowest.batches} batches ${slowest.ms} ms`,
      ...(mismatches.length ? { mismatches } : {}),
    };
  } finally {
    await pipeline.stop();
    await sim.close();
  }
}

/** The longest a `vigil-events` batch took to process (BullMQ's processedOn to finishedOn), over the batches kept. */
/** The longest a `vigil-events` batch took to process (BullMQ's processedOn to finishedOn), over the batches kept. */
async function slowestBatch(pipeline: Pipeline): Promise<{ ms: number; batches: number }> {
  const connection = new Redis(pipeline.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue("vigil-events", { connection, prefix: "{faults}" });
  try {
    const jobs = (await queue.getJobs(["completed"], 0, -1)).filter((job) => job.name === "event-batch");
    const times = jobs.map((job) => (job.finishedOn ?? 0) - (job.processedOn ?? 0));
    return { ms: Math.max(0, ...times), batches: jobs.length };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Redis absent, wrong password, malformed URL: each its own one-line error and exit 2. */
async function redisStartup(): Promise<ScenarioResult> {
  const server = await startRedisServer({ password: secrets.redisPassword });
  const closed = await freePort();
  const cases: [string, string, RegExp][] = [
    ["absent", `redis://:${secrets.redisPassword}@127.0.0.1:${closed}`, /did not answer within 2s/],
    ["wrong password", `redis://:wrong-${secrets.redisPassword}@127.0.0.1:${server.port}`, /refused the credentials/],
    ["malformed", "rediss//127.0.0.1::6397/x", /is not a Redis URL/],
  ];
  let ok = 0;
  const notes: string[] = [];
  const pipelineLog = new Pipeline("redis-startup", secrets, logDir);
  try {
    for (const [what, url, message] of cases) {
      const result = await runVigil(["run", "engine", "--port", "0"], {
        VIGIL_REDIS_WAIT: "2s",
        VIGIL_LOG_LEVEL: "info",
        ...configEnv(url),
      });
      pipelineLog.log(result.stderr, what);
      const errorLines = result.stderr.split("\n").filter((line) => line && !line.startsWith("{"));
      const good = result.code === 2 && errorLines.length === 1 && message.test(errorLines[0]!);
      if (good) ok++;
      notes.push(`${what}: exit ${result.code}${good ? "" : ` ${JSON.stringify(errorLines)}`}`);
    }
  } finally {
    await server.dispose();
  }
  return {
    name: "redis-startup",
    expected: cases.length,
    delivered: ok,
    lost: cases.length - ok,
    doubled: 0,
    unexpected: 0,
    emailsDoubled: 0,
    webhooksDoubled: 0,
    notes: notes.join(", "),
  };
}

/** A config file naming only redis.url, through the environment. */
function configEnv(url: string): Record<string, string> {
  const path = join(logDir, `startup-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, `redis: { url: ${JSON.stringify(url)} }\nrules: { paths: [rules] }\n`);
  return { VIGIL_CONFIG: path };
}

function formatLine(result: ScenarioResult): string {
  const pass = result.lost === 0 && result.doubled === 0 && result.unexpected === 0 && !result.mismatches?.length;
  const extra = result.unexpected ? ` unexpected=${result.unexpected}` : "";
  const doubles = result.doubled ? ` (emails ${result.emailsDoubled}, webhooks ${result.webhooksDoubled})` : "";
  const resentCount = (result.emailsResentAfterKill ?? 0) + (result.webhooksResentAfterKill ?? 0);
  const resent = resentCount
    ? ` [re-sent ${result.emailsResentAfterKill ?? 0} email(s), ${result.webhooksResentAfterKill ?? 0} webhook(s): a notifier killed ${result.killOffsetsMs?.map((ms) => `${ms >= 0 ? "+" : ""}${ms} ms`).join(", ")} from the receiver taking them, before the ledger write; same Message-ID / webhook-id]`
    : "";
  const wrong = result.mismatches?.length ? `  MISMATCH ${result.mismatches.slice(0, 5).join(", ")}` : "";
  return `${pass ? "PASS" : "FAIL"}  ${result.name.padEnd(16)} expected=${String(result.expected).padStart(4)} delivered=${String(result.delivered).padStart(4)} lost=${result.lost} doubled=${result.doubled}${doubles}${resent}${extra}  ${result.notes}${wrong}`;
}

async function main(): Promise<void> {
  console.log(`fault suite: seed ${seed} (VIGIL_FAULT_SEED=${seed} repeats it); logs in ${logDir}`);
  const started = Date.now();
  let failures = 0;
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    if (only && !only.includes(scenario.name)) continue;
    const random = seededRandom(seed ^ hash(scenario.name));
    let result: ScenarioResult;
    try {
      result = await scenario.run(random);
    } catch (err) {
      result = {
        name: scenario.name,
        expected: 0,
        delivered: 0,
        lost: 0,
        doubled: 0,
        unexpected: 1,
        emailsDoubled: 0,
        webhooksDoubled: 0,
        notes: `scenario error: ${(err as Error).message}`,
      };
    }
    results.push(result);
    let line = formatLine(result);
    if (line.startsWith("FAIL") && scenario.open?.excuses(result))
      line = `OPEN${line.slice(4)}  [${scenario.open.why}]`;
    if (line.startsWith("FAIL")) failures++;
    console.log(line);
  }
  failures += scanLogs();
  console.log(`${results.length} scenario(s), ${failures} failure(s), ${Math.round((Date.now() - started) / 1000)} s`);
  process.exitCode = failures ? 1 : 0;
}

/** Every line every process wrote, searched for the secrets the suite configured. */
function scanLogs(): number {
  const values = Object.entries(secrets);
  let lines = 0;
  const leaks: string[] = [];
  for (const file of readdirSync(logDir).filter((f) => f.endsWith(".log"))) {
    const text = readFileSync(join(logDir, file), "utf8");
    lines += text.split("\n").length - 1;
    for (const [name, value] of values) {
      for (const form of [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) {
        if (text.includes(form)) leaks.push(`${name} in ${file}`);
      }
    }
  }
  const unique = [...new Set(leaks)];
  console.log(
    `${unique.length ? "FAIL" : "PASS"}  ${"secrets-in-logs".padEnd(16)} ${lines} log lines scanned for ${values.length} secrets: ${unique.length ? unique.join(", ") : "none found"}`,
  );
  return unique.length ? 1 : 0;
}

function hash(text: string): number {
  let h = 2166136261;
  for (const char of text) h = Math.imul(h ^ char.charCodeAt(0), 16777619);
  return h >>> 0;
}

await main();
