/**
 * Drives real `vigil run connectors|engine|notifier` processes over a file source, an SMTP sink
 * and a webhook receiver, on a redis-server of its own (AOF on, password required), and compares
 * what was delivered with `vigil replay` on the same input.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startSmtpSink, startWebhookSink, type SmtpSink, type WebhookSink } from "@vigil/simulator";
import { REPO_ROOT } from "../cli.js";
import { startRedisServer, type OwnRedisServer } from "./redis-server.js";
import { startRedisCluster, type TestCluster } from "../topologies/redis-topologies.js";
import { TOPOLOGY_PORTS } from "../topologies/topology-ports.js";

const MAIN = join(REPO_ROOT, "apps/cli/src/main.ts");
export const ROLES = ["connectors", "engine", "notifier"] as const;
export type Role = (typeof ROLES)[number];

/** Secrets the suite configures; no log line may contain any of them. */
export interface SuiteSecrets {
  redisPassword: string;
  smtpPassword: string;
  webhookSecret: string;
  /** The provider token of the provider-faults scenario's simulated Zendesk. */
  providerToken: string;
}

export function makeSecrets(): SuiteSecrets {
  return {
    redisPassword: `redis-${randomBytes(12).toString("hex")}`,
    smtpPassword: `smtp-${randomBytes(12).toString("hex")}`,
    webhookSecret: `whsec_${randomBytes(24).toString("base64")}`,
    providerToken: `zd-${randomBytes(16).toString("hex")}`,
  };
}

export const RULES = `id: faults.login-burst
name: Failed logins
severity: high
when: { and: [{ "==": [{ var: action }, login] }, { "==": [{ var: outcome }, failure] }] }
threshold: { count: 3, within: 10m, groupBy: [actor.id] }
lateness: 30d
title: "{{actor.id}} failed to log in {{count}} times"
---
id: faults.login-burst-default-lateness
name: Failed logins (default lateness)
severity: medium
when: { and: [{ "==": [{ var: action }, login] }, { "==": [{ var: outcome }, failure] }] }
threshold: { count: 2, within: 30m, groupBy: [actor.id] }
title: "{{actor.id}} failed to log in {{count}} times in 30 minutes"
---
id: faults.token
name: Token created
severity: critical
when: { "==": [{ var: action }, token.create] }
title: "token {{target.name}} created by {{actor.id}}"
`;

/** Runs a command of the CLI to its end (replay, deliveries retry…), as its own process. */
export function runVigil(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, VIGIL_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface RoleProcess {
  role: Role;
  replica: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** True once it logged "vigil started". */
  started: boolean;
}

export interface Outcome {
  expected: number;
  delivered: number;
  lost: number;
  doubled: number;
  /** Alert ids delivered that replay did not raise. */
  unexpected: number;
  emailsDoubled: number;
  webhooksDoubled: number;
  /**
   * Emails sent twice because a notifier was SIGKILLed as the SMTP server took the first copy:
   * between the server's acceptance and the delivery ledger's one write, which no SMTP sender can
   * close. Both copies carry the same Message-ID (mail systems that deduplicate on it drop the
   * second). Not counted in `doubled`; any other second copy is.
   */
  emailsResentAfterKill?: number;
  /** The same for webhooks: two copies with one `webhook-id`, a notifier killed as the receiver took the first. */
  webhooksResentAfterKill?: number;
  /** For each such email or webhook: the kill's time less the first copy's arrival (ms). */
  killOffsetsMs?: number[];
}

type ReceivedCopy = { receivedAt: number; headers: Record<string, string> };

/**
 * How close to the receiver's taking of a delivery a notifier kill explains a second copy. The
 * kills measured land a few ms to tens of ms before the sink records the copy (it parses the
 * message after the client has sent it all); the sinks run in this busy process, so a second is
 * allowed. The offsets are printed with the scenario's line.
 */
const RESEND_AFTER_KILL_WINDOW_MS = 1_000;

export class Pipeline {
  readonly dir = mkdtempSync(join(tmpdir(), "vigil-faults-"));
  readonly eventsPath = join(this.dir, "events.jsonl");
  readonly configPath = join(this.dir, "vigil.config.yaml");
  readonly rulesPath = join(this.dir, "rules.yaml");
  readonly logPath: string;
  private readonly processes: RoleProcess[] = [];
  /** The `file:line` positions `vigil replay` refused (set by {@link expectedAlertIds}). */
  replayRefused: string[] = [];
  /** The redis-server of a standalone run (absent with `cluster`). */
  redis!: OwnRedisServer;
  /** The Redis Cluster of a `cluster` run. */
  cluster?: TestCluster;
  smtp!: SmtpSink;
  webhook!: WebhookSink;

  constructor(
    readonly name: string,
    readonly secrets: SuiteSecrets,
    logDir: string,
    private readonly options: {
      attempts?: number;
      backoff?: string;
      /** The `sources` entry (YAML flow mapping) instead of the file source over `eventsPath`. */
      source?: string;
      /** More `sources` entries (YAML flow mappings) beside it: quiet sources the rules also read. */
      extraSources?: readonly string[];
      /** Rule file text instead of {@link RULES}. */
      rules?: string;
      /** On a Redis Cluster of three primaries with a replica each, instead of one redis-server. */
      cluster?: boolean;
      /** Group alerts by rule (one notification per rule and batch) instead of one per alert. */
      grouped?: boolean;
    } = {},
  ) {
    this.logPath = join(logDir, `${name}.log`);
  }

  get env(): Record<string, string> {
    return {
      ...(this.cluster ? {} : { FAULT_REDIS_URL: this.redis.url }),
      FAULT_REDIS_PASSWORD: this.secrets.redisPassword,
      FAULT_SMTP_PASSWORD: this.secrets.smtpPassword,
      FAULT_WEBHOOK_SECRET: this.secrets.webhookSecret,
      FAULT_PROVIDER_TOKEN: this.secrets.providerToken,
    };
  }

  async start(lines: readonly string[]): Promise<void> {
    if (this.options.cluster)
      this.cluster = await startRedisCluster(TOPOLOGY_PORTS.faultsCluster, { password: this.secrets.redisPassword });
    else this.redis = await startRedisServer({ password: this.secrets.redisPassword, appendOnly: true });
    const redis = this.cluster
      ? `{ cluster: { nodes: ${JSON.stringify(this.cluster.config.cluster!.nodes)}, password: "\${FAULT_REDIS_PASSWORD}" }, prefix: faults }`
      : `{ url: "\${FAULT_REDIS_URL}", prefix: faults }`;
    this.smtp = await startSmtpSink({ port: 0 });
    this.webhook = await startWebhookSink({ port: 0, secret: this.secrets.webhookSecret });
    writeFileSync(this.rulesPath, this.options.rules ?? RULES);
    writeFileSync(this.eventsPath, lines.map((line) => `${line}\n`).join(""));
    writeFileSync(
      this.configPath,
      `redis: ${redis}
sources:
  - ${this.options.source ?? `{ name: file, type: file, path: ${JSON.stringify(this.eventsPath)}, pollInterval: 500ms, batchSize: 20 }`}
${(this.options.extraSources ?? []).map((source) => `  - ${source}\n`).join("")}rules: { paths: [${JSON.stringify(this.rulesPath)}] }
channels:
  - name: mail
    type: email
    from: vigil@faults.test
    to: [soc@faults.test]
    smtp: { host: 127.0.0.1, port: ${this.smtp.port}, allowPlaintext: true, auth: { user: vigil, pass: "\${FAULT_SMTP_PASSWORD}" }, timeout: 5s }
  - { name: hook, type: webhook, url: ${JSON.stringify(this.webhook.url)}, allowInsecureHttp: true, secret: "\${FAULT_WEBHOOK_SECRET}", timeout: 5s }
routes:
  - { channels: [mail, hook]${this.options.grouped ? ", groupBy: [ruleId], groupWait: 3s, groupInterval: 4s" : ""} }
engine: { concurrency: 4${this.cluster ? ", stateShards: 6" : ""} }
notifier: { concurrency: 4, attempts: ${this.options.attempts ?? 6}, backoff: ${this.options.backoff ?? "200ms"} }
`,
    );
  }

  /** What `vigil replay` raises on the same input (or on `eventsPath`): the alert ids every run must deliver. */
  async expectedAlertIds(eventsPath = this.eventsPath): Promise<Set<string>> {
    const result = await runVigil(
      [
        "--config",
        this.configPath,
        "replay",
        "--rules",
        this.rulesPath,
        "--events",
        eventsPath,
        // The default file source's own file, read as that source reads it (its own ids); another
        // input (several sources' events) as it is.
        ...(this.options.source === undefined && eventsPath === this.eventsPath ? ["--source", "file"] : []),
      ],
      this.env,
    );
    this.log(`replay exit ${result.code}\n${result.stderr}`);
    const refusedLine = /^(.*:\d+): /;
    this.replayRefused = result.stderr
      .split("\n")
      .filter((line) => line.startsWith(`${eventsPath}:`))
      .flatMap((line) => refusedLine.exec(line)?.[1] ?? []);
    const ids = result.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { id: string }).id);
    return new Set(ids);
  }

  /** Starts one more process of a role. */
  spawn(role: Role): RoleProcess {
    const replica = this.processes.filter((p) => p.role === role).length;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--config", this.configPath, "run", role, "--port", "0"],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...this.env, VIGIL_LOG_LEVEL: "info", VIGIL_REDIS_WAIT: "2m" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const tag = `${role}#${replica}`;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const process_: RoleProcess = { role, replica, child, exited, started: false };
    child.stdout!.on("data", (chunk: Buffer) => this.log(chunk.toString(), tag));
    child.stderr!.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      if (text.includes('"vigil started"')) process_.started = true;
      this.log(text, tag);
    });
    this.processes.push(process_);
    return process_;
  }

  /** Deliveries whose attempts are spent (the failed set of `vigil-deliveries`). */
  async failedDeliveries(): Promise<number> {
    const redis = new Redis(this.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      return await redis.zcard("{faults}:vigil-deliveries:failed");
    } catch {
      return 0;
    } finally {
      redis.disconnect();
    }
  }

  /** Waits until every running process has started (processes start slowly on a loaded machine). */
  async waitStarted(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running().some((p) => !p.started)) {
      if (Date.now() > deadline) throw new Error("processes did not start in time");
      await sleep(100);
    }
  }

  running(role?: Role): RoleProcess[] {
    return this.processes.filter(
      (p) => p.child.exitCode === null && p.child.signalCode === null && (role === undefined || p.role === role),
    );
  }

  /** When each SIGKILL was sent, by role. */
  readonly kills: { role: Role; at: number }[] = [];

  /** SIGKILL: no shutdown, locks held until they expire. */
  async kill(process_: RoleProcess): Promise<void> {
    this.kills.push({ role: process_.role, at: Date.now() });
    process_.child.kill("SIGKILL");
    await process_.exited;
  }

  log(text: string, tag = "suite"): void {
    appendFileSync(
      this.logPath,
      text.endsWith("\n") ? text.replace(/^/gm, `[${tag}] `).replace(/\[[^\]]*\] $/, "") : `[${tag}] ${text}\n`,
    );
  }

  /** Alert ids delivered: per channel, how many times each arrived (accepted by the receiver), alone or in a group's notification. */
  deliveries(): { webhook: Map<string, number>; email: Map<string, number> } {
    const webhook = new Map<string, number>();
    for (const request of this.webhook.requests) {
      if (request.status < 200 || request.status >= 300) continue;
      for (const id of webhookAlertIds(request.json)) webhook.set(id, (webhook.get(id) ?? 0) + 1);
    }
    const email = new Map<string, number>();
    for (const mail of this.smtp.messages) {
      for (const id of emailAlertIds(mail.headers)) email.set(id, (email.get(id) ?? 0) + 1);
    }
    return { webhook, email };
  }

  /** Waits until every expected alert arrived on both channels (or the time is up), then a little longer for late doubles. */
  async settle(expected: Set<string>, timeoutMs: number, lingerMs = 4_000): Promise<Outcome> {
    const deadline = Date.now() + timeoutMs;
    const complete = () => {
      const { webhook, email } = this.deliveries();
      return [...expected].every((id) => webhook.has(id) && email.has(id));
    };
    while (!complete() && Date.now() < deadline) await sleep(200);
    await sleep(lingerMs);
    return this.outcome(expected);
  }

  outcome(expected: Set<string>): Outcome {
    const { webhook, email } = this.deliveries();
    const deliveredBoth = [...expected].filter((id) => webhook.has(id) && email.has(id));
    const seen = new Set([...webhook.keys(), ...email.keys()]);
    const killOffsets: number[] = [];
    const explained = (copies: Map<string, number>, list: (id: string) => ReceivedCopy[], idHeader: string) => {
      const ids = new Set<string>();
      for (const [id, n] of copies) {
        const offset = n > 1 ? this.resentAfterKill(id, list(id), idHeader) : undefined;
        if (offset === undefined) continue;
        ids.add(id);
        killOffsets.push(offset);
      }
      return ids;
    };
    const accepted = this.webhook.requests.filter((r) => r.status >= 200 && r.status < 300);
    const webhooksResent = explained(
      webhook,
      (id) => accepted.filter((r) => webhookAlertIds(r.json).includes(id)),
      "webhook-id",
    );
    const resentAfterKill = explained(
      email,
      (id) => this.smtp.messages.filter((mail) => emailAlertIds(mail.headers).includes(id)),
      "message-id",
    );
    const webhooksDoubled = new Set(
      [...webhook.entries()].filter(([id, n]) => n > 1 && !webhooksResent.has(id)).map(([id]) => id),
    );
    const emailsDoubled = new Set(
      [...email.entries()].filter(([id, n]) => n > 1 && !resentAfterKill.has(id)).map(([id]) => id),
    );
    return {
      expected: expected.size,
      delivered: deliveredBoth.length,
      lost: expected.size - deliveredBoth.length,
      doubled: new Set([...webhooksDoubled, ...emailsDoubled]).size,
      unexpected: [...seen].filter((id) => !expected.has(id)).length,
      emailsDoubled: emailsDoubled.size,
      webhooksDoubled: webhooksDoubled.size,
      emailsResentAfterKill: resentAfterKill.size,
      webhooksResentAfterKill: webhooksResent.size,
      killOffsetsMs: killOffsets,
    };
  }

  /**
   * Whether the copies of an alert's email are one re-send caused by a notifier killed as the
   * SMTP server took the first: exactly two copies, the same Message-ID, and a notifier SIGKILL
   * within RESEND_AFTER_KILL_WINDOW_MS of the first copy's arrival. Returns the kill's offset from
   * that arrival (ms), or undefined.
   */
  private resentAfterKill(
    alertId: string,
    copies: readonly { receivedAt: number; headers: Record<string, string> }[],
    idHeader: string,
  ): number | undefined {
    if (copies.length !== 2) return undefined;
    const [first, second] = copies as [(typeof copies)[0], (typeof copies)[0]];
    if (!first.headers[idHeader] || first.headers[idHeader] !== second.headers[idHeader]) return undefined;
    const offsets = this.kills.filter((k) => k.role === "notifier").map((k) => k.at - first.receivedAt);
    const nearest = offsets.sort((a, b) => Math.abs(a) - Math.abs(b))[0];
    if (nearest !== undefined && Math.abs(nearest) > RESEND_AFTER_KILL_WINDOW_MS)
      this.log(`delivery of ${alertId} doubled; nearest notifier kill ${nearest} ms from its first copy`);
    return nearest !== undefined && Math.abs(nearest) <= RESEND_AFTER_KILL_WINDOW_MS ? nearest : undefined;
  }

  async stop(): Promise<void> {
    for (const p of this.running()) p.child.kill("SIGTERM");
    await Promise.race([Promise.all(this.processes.map((p) => p.exited)), sleep(35_000)]);
    for (const p of this.running()) p.child.kill("SIGKILL");
    await Promise.all(this.processes.map((p) => p.exited));
    await this.smtp?.close();
    await this.webhook?.close();
    await this.redis?.dispose();
    await this.cluster?.stop();
  }

  logText(): string {
    try {
      return readFileSync(this.logPath, "utf8");
    } catch {
      return "";
    }
  }
}

/** The alerts a webhook carried: a group's `alerts`, or the alert itself. */
function webhookAlertIds(json: unknown): string[] {
  const body = json as { id?: string; alerts?: { id: string }[] } | undefined;
  if (body?.alerts) return body.alerts.map((alert) => alert.id);
  return body?.id ? [body.id] : [];
}

/** The alerts an email carried (`X-Vigil-Alert-Ids`, or the one `X-Vigil-Alert-Id` of older notifiers). */
function emailAlertIds(headers: Record<string, string>): string[] {
  const ids = headers["x-vigil-alert-ids"] ?? headers["x-vigil-alert-id"];
  return ids
    ? ids
        .split(",")
        .map((id) => id.trim())
        .filter(Boolean)
    : [];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
