import { spawn, type ChildProcess } from "node:child_process";
import { singleAlert } from "../channel.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAlertmanagerReceiver } from "@vigil/simulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort, describeChannelConformance, makeAlert, receiverHarness } from "@vigil/notifier/testing";
import { AlertmanagerChannel } from "./alertmanager.channel.js";
import { AlertmanagerChannelSchema } from "./alertmanager.config.js";

describeChannelConformance("alertmanager", {
  rateLimited: false,
  async start() {
    const receiver = await startAlertmanagerReceiver();
    return receiverHarness({
      receiver,
      config: {
        name: "soc-alertmanager",
        type: "alertmanager",
        allowInsecureHttp: true,
        url: receiver.baseUrl,
        timeout: "5s",
      },
      secrets: [],
      refusals: {
        permanent: { status: 400, body: { code: 400, message: "bad alert" } },
        transient: { status: 503, body: "Service Unavailable" },
        "rate-limited": { status: 429, headers: { "retry-after": "1" }, body: "" },
      },
      delivery: (request) => {
        const [alert] = request.json as { labels: Record<string, string>; annotations: Record<string, string> }[];
        return { alertId: alert?.labels.vigil_alert_id ?? "", title: alert?.annotations.title ?? "" };
      },
    });
  },
  async unreachable() {
    return {
      config: {
        name: "soc-alertmanager",
        type: "alertmanager",
        allowInsecureHttp: true,
        url: `http://127.0.0.1:${await closedPort()}`,
      },
      secrets: [],
    };
  },
});

/** A real Alertmanager (Debian's prometheus-alertmanager) on a loopback port, with its config and storage in a temp dir. */
async function startAlertmanager(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "vigil-alertmanager-"));
  const config = join(dir, "alertmanager.yml");
  await writeFile(config, 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  const port = await closedPort();
  const child: ChildProcess = spawn(
    "prometheus-alertmanager",
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus-alertmanager did not become ready: ${stderr.slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

describe("AlertmanagerChannel against a real Alertmanager", () => {
  let alertmanager: Awaited<ReturnType<typeof startAlertmanager>>;
  beforeAll(async () => {
    alertmanager = await startAlertmanager();
  }, 30_000);
  afterAll(async () => {
    await alertmanager?.stop();
  });

  it("posts each alert with its labels, annotations and a bounded endsAt, and Alertmanager serves it back", async () => {
    const channel = new AlertmanagerChannel(
      AlertmanagerChannelSchema.parse({
        name: "am",
        type: "alertmanager",
        allowInsecureHttp: true,
        url: alertmanager.url,
        resolveAfter: "2h",
      }),
    );
    const createdAt = new Date(Date.now() - 60_000).toISOString();
    const alert = makeAlert({
      createdAt,
      severity: "critical",
      runbook: "https://runbooks.example.com/mass-deletion",
      groupKey: { "actor.email": "eve@example.com", "target.id": 7 },
    });
    await channel.send(singleAlert(alert));

    const response = await fetch(`${alertmanager.url}/api/v2/alerts?filter=vigil_alert_id%3D%22${alert.id}%22`);
    const alerts = (await response.json()) as GettableAlert[];
    expect(alerts).toHaveLength(1);
    const [stored] = alerts;
    expect(stored?.labels).toEqual({
      alertname: "Mass user deletion",
      rule: "zendesk.mass-user-deletion",
      severity: "critical",
      provider: "zendesk",
      actor_email: "eve@example.com",
      target_id: "7",
      vigil_alert_id: alert.id,
    });
    expect(stored?.annotations).toMatchObject({
      title: alert.title,
      description: alert.description,
      runbook_url: "https://runbooks.example.com/mass-deletion",
      show: `vigil alerts show ${alert.id}`,
      silence: `vigil silence add --match ruleId=zendesk.mass-user-deletion --match actor.email=eve@example.com --match target.id=7 --for 2h --reason "…"`,
    });
    expect(stored?.annotations.evidence).toContain("first: 2026-01-31 12:00:10 UTC destroy by agent@example.com");
    expect(Date.parse(stored?.startsAt ?? "")).toBe(Date.parse(createdAt));
    expect(Date.parse(stored?.endsAt ?? "") - Date.parse(createdAt)).toBe(2 * 3_600_000);
    expect(stored?.status.state).toBe("active");
  });

  it("posts a group's notification in one request, and Alertmanager serves every alert of it back", async () => {
    const channel = new AlertmanagerChannel(
      AlertmanagerChannelSchema.parse({
        name: "am",
        type: "alertmanager",
        allowInsecureHttp: true,
        url: alertmanager.url,
      }),
    );
    const group = { "actor.email": `group-${Date.now()}@example.com` };
    const createdAt = new Date().toISOString();
    const alerts = [
      makeAlert({ groupKey: group, createdAt }),
      makeAlert({ groupKey: group, createdAt, severity: "low" }),
    ] as const;
    const answer = await channel.send({ id: "g-am-0", alerts: [...alerts], group: { route: "am", labels: group } });
    expect(answer).toBe("200 OK");

    const filter = encodeURIComponent(`actor_email="${group["actor.email"]}"`);
    const stored = (await (
      await fetch(`${alertmanager.url}/api/v2/alerts?filter=${filter}`)
    ).json()) as GettableAlert[];
    expect(stored.map((alert) => alert.labels.vigil_alert_id).sort()).toEqual(alerts.map((alert) => alert.id).sort());
    expect(stored.map((alert) => alert.labels.severity).sort()).toEqual(["high", "low"]);
  });

  it("reports the real Alertmanager's 404 for a wrong base path as a permanent error", async () => {
    const channel = new AlertmanagerChannel(
      AlertmanagerChannelSchema.parse({
        name: "am",
        type: "alertmanager",
        allowInsecureHttp: true,
        url: `${alertmanager.url}/no-such-prefix`,
      }),
    );
    await expect(channel.send(singleAlert(makeAlert()))).rejects.toMatchObject({ permanent: true, channel: "am" });
  });
});
