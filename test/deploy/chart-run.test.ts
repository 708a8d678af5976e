import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  connectRedis,
  createRedis,
  deliveryJobId,
  Keyspace,
  openQueues,
  type Alert,
  type EventBatchJob,
} from "@vigil/core";
import { startWebhookSink, type WebhookSink } from "@vigil/simulator";
import { event, freePort, REDIS_URL, useRedis, waitUntil } from "../helpers.js";
import { buildIntoTemp } from "./artifact.js";
import { CHART, named, renderChart, type K8sObject } from "./helm.js";
import { localPod, waitForProbe, type DeploymentObject, type RunningPod } from "./local-pod.js";

const { redis, keyspace } = useRedis();
const dir = mkdtempSync(join(tmpdir(), "vigil-chart-run-"));

const rule = (id: string, action: string, extra = "") =>
  `id: ${id}\nname: ${id}\nseverity: high\nwhen: { "==": [{ var: action }, ${action}] }\ntitle: "${id} by {{actor.id}}"\n${extra}`;

describe("the chart's manifests, run as local processes (what the kubelet would start)", () => {
  let artifact: Awaited<ReturnType<typeof buildIntoTemp>>;
  let webhook: WebhookSink;
  const secret = `whsec_${randomBytes(24).toString("base64")}`;

  beforeAll(async () => {
    artifact = await buildIntoTemp();
    webhook = await startWebhookSink({ secret });
  }, 120_000);
  afterAll(async () => webhook?.close());

  it("starts each role from its Deployment, passes its probes, moves events to verified webhooks, and stops on SIGTERM within the grace period with nothing lost", async () => {
    const ks = keyspace();
    const eventsFile = join(dir, "events.jsonl");
    const line = (id: string, action: string, minute: number) =>
      JSON.stringify(
        event({
          id: `files:${id}`,
          source: "files",
          provider: "test",
          time: new Date(Date.UTC(2026, 0, 1, 9, minute)).toISOString(),
          action,
          actor: { id: "mallory" },
        }),
      );
    writeFileSync(
      eventsFile,
      [
        line("1", "chart-dir", 0),
        line("2", "from-values", 1),
        line("3", "existing", 2),
        line("4", "destroy", 3),
        line("5", "destroy", 4),
        line("6", "destroy", 5),
        "",
      ].join("\n"),
    );

    // The chart with a rule in its rules/ folder, a rule in values and one in a ConfigMap the user manages.
    const chart = join(dir, "chart");
    cpSync(CHART, chart, { recursive: true });
    mkdirSync(join(chart, "rules/team"), { recursive: true });
    writeFileSync(join(chart, "rules/team/chart-dir.yaml"), rule("t.chart-dir", "chart-dir"));
    const existingRules: K8sObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "team-rules" },
      data: { "existing.yaml": rule("t.existing", "existing") },
    } as K8sObject;

    const port = await freePort();
    const objects = await renderChart(
      {
        redis: { enabled: false },
        externalRedis: { url: REDIS_URL },
        redisPrefix: ks.prefix,
        metricsPort: port,
        logLevel: "info",
        rules: {
          shipped: true,
          files: {
            "from-values.yaml": `${rule("t.from-values", "from-values")}---\n${rule("t.burst", "destroy", "threshold: { count: 3, within: 10m, groupBy: [actor.id] }\n")}`,
          },
          existingConfigMap: "team-rules",
        },
        secrets: { files: { "webhook-secret": secret } },
        config: {
          sources: [{ name: "files", type: "file", path: eventsFile, pollInterval: "1s" }],
          channels: [
            {
              name: "hook",
              type: "webhook",
              url: webhook.url,
              allowInsecureHttp: true,
              secret: "${file:/etc/vigil/secrets/webhook-secret}",
            },
          ],
          routes: [{ channels: ["hook"] }],
          notifier: { backoff: "200ms" },
        },
      },
      { chart },
    );
    const image = { app: artifact.out, vigil: [process.execPath, artifact.bin] };
    const pods = Object.fromEntries(
      ["connectors", "engine", "notifier"].map((role) => [
        role,
        localPod(named(objects, "Deployment", `vigil-${role}`) as DeploymentObject, objects, {
          root: join(dir, role),
          image,
          extraObjects: [existingRules],
        }),
      ]),
    );
    const queues = openQueues(redis, ks.queuePrefix);

    // One pod at a time: the manifests give every pod the same port, as each pod has its own IP.
    const runRole = async (role: string, until: () => Promise<boolean>, what: string) => {
      const pod = pods[role]!;
      const running: RunningPod = pod.start();
      try {
        await waitForProbe(pod.startup.url!, pod.startup.budgetMs, running);
        await waitForProbe(pod.readiness.url!, 30_000, running);
        expect((await fetch(pod.liveness.url!)).status).toBe(200);
        await waitUntil(until, 60_000, what);
      } finally {
        running.child.kill("SIGTERM");
      }
      const sent = Date.now();
      const exit = await running.exited;
      expect(exit.signal, running.output()).toBeNull();
      expect(exit.code, running.output()).toBe(0);
      expect(exit.at - sent).toBeLessThan(pod.graceSeconds * 1000);
      expect(running.output()).toContain('"msg":"stopped"');
      return running.output();
    };

    const count = async (
      queue: keyof Omit<typeof queues, "close">,
      ...states: ("waiting" | "completed" | "active" | "failed" | "delayed")[]
    ) => {
      const counts = await queues[queue].getJobCounts(...states);
      return states.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
    };

    await runRole(
      "connectors",
      async () =>
        (await count("events", "waiting")) >= 1 &&
        (await queues.events.getWaiting()).reduce((n, job) => n + (job.data as EventBatchJob).events.length, 0) === 6,
      "six events queued",
    );
    const engineLog = await runRole(
      "engine",
      async () =>
        (await count("alerts", "waiting")) === 4 &&
        (await count("events", "completed")) >= 1 &&
        (await count("events", "waiting", "active")) === 0,
      "four alerts",
    );
    // The four rules from the chart folder, values and the user's ConfigMap, and the shipped ones from the image.
    expect(Number(/"rules":(\d+),[^{}]*"msg":"engine started"/.exec(engineLog)?.[1])).toBeGreaterThan(4);
    await runRole(
      "notifier",
      async () => webhook.requests.length >= 4 && (await count("deliveries", "completed")) === 4,
      "four webhooks",
    );

    const alerts = webhook.requests.map((r) => r.json as Alert);
    expect(webhook.requests.every((r) => r.verified)).toBe(true);
    expect(alerts.map((a) => a.ruleId).sort()).toEqual(["t.burst", "t.chart-dir", "t.existing", "t.from-values"]);
    expect(alerts.find((a) => a.ruleId === "t.burst")!.count).toBe(3);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(4);
    for (const queue of ["events", "alerts", "deliveries"] as const)
      expect(await count(queue, "waiting", "active", "failed", "delayed"), queue).toBe(0);
    await queues.close();
  }, 240_000);

  it("names, in each ScaledObject, the Redis key and type that hold the queue's backlog", async () => {
    const ks = keyspace();
    const objects = await renderChart({
      redis: { enabled: false },
      externalRedis: { url: REDIS_URL },
      redisPrefix: ks.prefix,
      autoscaling: { keda: { enabled: true } },
    });
    const trigger = (name: string) => {
      const scaled = named(objects, "ScaledObject", name) as K8sObject & {
        spec: { scaleTargetRef: { name: string }; triggers: { type: string; metadata: Record<string, string> }[] };
      };
      expect(scaled.spec.triggers).toHaveLength(1);
      return { ...scaled.spec.triggers[0]!, target: scaled.spec.scaleTargetRef.name };
    };
    const engine = trigger("vigil-engine");
    const notifier = trigger("vigil-notifier");
    expect(engine.target).toBe("vigil-engine");
    expect(notifier.target).toBe("vigil-notifier");
    // KEDA's redis scaler reads LLEN of listName at address.
    for (const t of [engine, notifier]) expect(t.type).toBe("redis");
    const url = new URL(REDIS_URL);
    expect(engine.metadata.address).toBe(`${url.hostname}:${url.port || "6379"}`);
    const scalerRedis = createRedis(`redis://${engine.metadata.address}`);

    const queues = openQueues(redis, ks.queuePrefix);
    const N = 7;
    for (let i = 0; i < N; i++) {
      await queues.events.add("batch", {
        source: "keda",
        events: [event({ id: `keda:${i}`, time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() })],
      });
    }
    expect(await scalerRedis.type(engine.metadata.listName!)).toBe("list");
    expect(await scalerRedis.llen(engine.metadata.listName!)).toBe(N);

    const M = 5;
    for (let i = 0; i < M; i++) {
      const alert: Alert = {
        id: `alert-${i}`,
        ruleId: "r",
        ruleName: "R",
        severity: "low",
        title: "t",
        groupKey: {},
        count: 1,
        windowStart: "2026-01-01T00:00:00.000Z",
        windowEnd: "2026-01-01T00:00:00.000Z",
        eventIds: [],
        events: [],
        tags: [],
        createdAt: new Date().toISOString(),
      };
      await queues.deliveries.add("deliver", { channel: "hook", alert }, { jobId: deliveryJobId(alert.id, "hook") });
    }
    expect(await scalerRedis.type(notifier.metadata.listName!)).toBe("list");
    expect(await scalerRedis.llen(notifier.metadata.listName!)).toBe(M);
    // A key the queue does not use reads 0: the test above would catch a wrong name.
    expect(await scalerRedis.llen(`${new Keyspace(ks.prefix).queuePrefix}:vigil-events:waiting`)).toBe(0);
    await queues.close();
    await scalerRedis.quit();
  }, 60_000);

  it("runs the Redis StatefulSet's own command and redis.conf: append-only file in the volume's folder, noeviction under maxmemory, the password from stdin, data kept across a restart", async () => {
    const objects = await renderChart({ redis: { maxmemory: "64mb" } });
    const sts = named(objects, "StatefulSet", "vigil-redis") as K8sObject & {
      spec: {
        template: {
          spec: {
            containers: {
              command: string[];
              args: string[];
              env: { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } }[];
            }[];
          };
        };
      };
    };
    const [container] = sts.spec.template.spec.containers;
    // The password the chart generated, as the kubelet hands it over (env from the Secret).
    const ref = container!.env.find((e) => e.name === "REDIS_PASSWORD")!.valueFrom.secretKeyRef;
    const password = Buffer.from(
      (named(objects, "Secret", ref.name) as K8sObject & { data: Record<string, string> }).data[ref.key]!,
      "base64",
    ).toString();
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    const data = mkdtempSync(join(dir, "redis-data-"));
    const port = await freePort();
    // The ConfigMap's redis.conf at its mount path, with the volume's folder and a free port (each pod has its own IP).
    const conf = (named(objects, "ConfigMap", "vigil-redis-config") as K8sObject & { data: Record<string, string> })
      .data["redis.conf"]!;
    const confFile = join(dir, "redis.conf");
    writeFileSync(
      confFile,
      `${conf.replace(/^dir \/data$/m, `dir ${data}`).replace(/^port 6379$/m, `port ${port}`)}\nbind 127.0.0.1\n`,
    );
    const argv = [...container!.command, ...container!.args].map((a) =>
      a.replaceAll("/etc/redis/redis.conf", confFile),
    );
    // The password is nowhere in what the process is started with.
    expect(argv.join(" ")).not.toContain(password);
    const start = async () => {
      const child = spawn(argv[0]!, argv.slice(1), {
        stdio: "ignore",
        env: { PATH: process.env.PATH, REDIS_PASSWORD: password },
      });
      let client: Awaited<ReturnType<typeof connectRedis>> | undefined;
      await waitUntil(
        async () => {
          client = await connectRedis(`redis://:${password}@127.0.0.1:${port}`, 500).catch(() => undefined);
          return client !== undefined;
        },
        10_000,
        "redis-server to answer",
      );
      return { child, client: client! };
    };
    const first = await start();
    onTestFinished(() => void first.child.kill("SIGKILL"));
    expect(await first.client.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    expect(await first.client.config("GET", "appendfsync")).toEqual(["appendfsync", "everysec"]);
    expect(await first.client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
    expect(await first.client.config("GET", "maxmemory")).toEqual(["maxmemory", String(64 * 1024 * 1024)]);
    expect(await first.client.config("GET", "dir")).toEqual(["dir", data]);
    // Without the password nothing gets in.
    const stranger = createRedis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    stranger.on("error", () => undefined);
    await expect(stranger.get("kept")).rejects.toThrow(/NOAUTH/);
    stranger.disconnect();
    await first.client.set("kept", "across restarts");
    // As the kubelet stops the pod. With `--save ""` there is no RDB snapshot: only the AOF can bring the key back.
    first.client.disconnect();
    const stopped = new Promise((resolve) => first.child.once("exit", resolve));
    first.child.kill("SIGTERM");
    await stopped;
    const second = await start();
    try {
      expect(await second.client.get("kept")).toBe("across restarts");
    } finally {
      second.client.disconnect();
      second.child.kill("SIGTERM");
    }
  }, 60_000);
});
