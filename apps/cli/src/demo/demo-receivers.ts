import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Alert } from "@vigil/core";
import type { HttpReceiver, ReceivedMail, ReceivedRequest, ReceivedWebhook } from "@vigil/simulator";

/** The chat, paging and Alertmanager receivers the demo delivers to, besides its SMTP server and webhook receiver. */
export interface DemoReceivers {
  /** The demo's channels for them, to add to the config's `channels`. */
  channels: Record<string, unknown>[];
  /** One line per channel kind: messages accepted, and any the receiver found outside the provider's limits. */
  report(): string[];
  /** Writes every alert's message as each channel delivered it under `dir` (one folder per alert). */
  render(
    dir: string,
    alerts: Map<string, Alert>,
    mails: ReceivedMail[],
    webhooks: ReceivedWebhook[],
  ): Promise<string[]>;
  close(): Promise<void>;
}

/** The alert a received request is about, as each provider's format names it. */
const ALERT_ID: Record<string, (request: ReceivedRequest) => string | undefined> = {
  slack: (request) => /vigil alerts show ([^\s"`\\]+)/.exec(request.body)?.[1],
  teams: (request) => /vigil alerts show ([^\s"`\\]+)/.exec(request.body)?.[1],
  pagerduty: (request) => (request.json as { dedup_key?: string } | undefined)?.dedup_key,
  alertmanager: (request) =>
    (request.json as { labels?: { vigil_alert_id?: string } }[] | undefined)?.[0]?.labels?.vigil_alert_id,
};

/** The headline of a received message, as each provider's format carries it. */
const HEADLINE: Record<string, (request: ReceivedRequest) => string | undefined> = {
  slack: (request) => {
    const message = request.json as { text?: string; thread_ts?: string };
    return `${message.text}${message.thread_ts ? "  (in the thread of its group's first message)" : ""}`;
  },
  teams: (request) =>
    (
      request.json as { attachments: { content: { body: { text: string }[] } }[] }
    ).attachments[0]?.content.body[0]?.text.replace(/\\(.)/g, "$1"),
  pagerduty: (request) => {
    const event = request.json as { payload: { summary: string; severity: string } };
    return `${event.payload.summary}  (severity ${event.payload.severity})`;
  },
  alertmanager: (request) => {
    const [alert] = request.json as { labels: { severity: string }; annotations: { title: string } }[];
    return `[${alert?.labels.severity.toUpperCase()}] ${alert?.annotations.title}`;
  },
};

export async function startDemoReceivers(say: (line: string) => void): Promise<DemoReceivers> {
  const { startSlackReceiver, startTeamsReceiver, startPagerDutyReceiver, startAlertmanagerReceiver } = await import(
    "@vigil/simulator"
  );
  const slack = await startSlackReceiver();
  const teams = await startTeamsReceiver();
  const pagerduty = await startPagerDutyReceiver();
  const alertmanager = await startAlertmanagerReceiver();
  const receivers: Record<string, HttpReceiver> = { slack, teams, pagerduty, alertmanager };
  // Fast enough for a demo; the defaults are the providers' documented limits.
  const quick = { requests: 50, per: "1s" };
  const channels = [
    {
      name: "soc-slack",
      type: "slack",
      allowInsecureHttp: true,
      token: slack.token,
      channel: "C0SOC",
      apiUrl: slack.apiUrl,
      rateLimit: quick,
    },
    { name: "soc-teams", type: "teams", allowInsecureHttp: true, url: teams.url, rateLimit: quick },
    {
      name: "soc-pagerduty",
      type: "pagerduty",
      allowInsecureHttp: true,
      routingKey: pagerduty.routingKey,
      url: pagerduty.url,
    },
    { name: "soc-alertmanager", type: "alertmanager", allowInsecureHttp: true, url: alertmanager.baseUrl },
  ];
  for (const [kind, receiver] of Object.entries(receivers)) {
    receiver.onRequest((request) => {
      if (request.accepted) say(`  ${kind.padEnd(8)} → ${HEADLINE[kind]?.(request) ?? ""}`);
    });
  }
  return {
    channels,
    report() {
      const threaded = slack.posted.filter((message) => message.threadTs !== undefined).length;
      return Object.entries(receivers).map(([kind, receiver]) => {
        const outside = receiver.requests.filter((request) => request.problems.length > 0);
        const extra = kind === "slack" ? ` (${threaded} in a group's thread)` : "";
        return `  ${kind.padEnd(12)} ${receiver.accepted().length} accepted${extra}, ${outside.length} outside the provider's documented limits${outside.length ? `: ${outside[0]?.problems.join("; ")}` : ""}`;
      });
    },
    async render(dir, alerts, mails, webhooks) {
      const written: string[] = [];
      const ordered = [...alerts.values()].sort(
        (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
      );
      const folders = new Map(
        ordered.map((alert, i) => [alert.id, join(dir, `${String(i + 1).padStart(2, "0")}-${alert.ruleId}`)]),
      );
      const put = async (alertId: string | undefined, file: string, content: string) => {
        const folder = alertId ? folders.get(alertId) : undefined;
        if (!folder) return;
        await mkdir(folder, { recursive: true });
        await writeFile(join(folder, file), content);
        written.push(join(folder, file));
      };
      for (const mail of mails) {
        await put(mail.headers["x-vigil-alert-id"], "email.html", mail.html);
        await put(mail.headers["x-vigil-alert-id"], "email.txt", `Subject: ${mail.subject}\n\n${mail.text}`);
      }
      for (const request of webhooks) await put((request.json as Alert).id, "webhook.json", pretty(request.body));
      for (const [kind, receiver] of Object.entries(receivers))
        for (const request of receiver.accepted())
          await put(ALERT_ID[kind]?.(request), `${kind}.json`, pretty(request.body));
      say(`\nrendered ${written.length} messages (${folders.size} alerts × each channel) into ${dir}`);
      return written;
    },
    async close() {
      await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
    },
  };
}

function pretty(body: string): string {
  try {
    return `${JSON.stringify(JSON.parse(body), null, 2)}\n`;
  } catch {
    return body;
  }
}
