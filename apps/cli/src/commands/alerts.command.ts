import { parseDuration, SeveritySchema } from "@vigil/core";
import {
  ALERT_STATUSES,
  AlertHistory,
  type AlertRecord,
  type AlertStatus,
  type HistoryEntry,
  renderAlertMessage,
} from "@vigil/notifier";
import type { Command } from "commander";
import { CliError, cliContext, withQueues, type GlobalOptions } from "../context.js";
import { formatTable, print } from "../format.js";

export function registerAlertsCommands(program: Command, globals: () => GlobalOptions): void {
  const alerts = program.command("alerts").description("the alert history: what fired and what became of it");

  alerts
    .command("list")
    .description("alerts newest first, with their status")
    .option("--since <duration>", "raised within this long, e.g. 24h", "24h")
    .option("--rule <id>", "only this rule's")
    .option("--severity <severity>", "only this severity")
    .option("--status <status>", `only this status (${ALERT_STATUSES.join(", ")})`)
    .option("--limit <n>", "at most this many", "200")
    .option("--json", "print JSON lines")
    .action(
      async (options: {
        since: string;
        rule?: string;
        severity?: string;
        status?: string;
        limit: string;
        json?: boolean;
      }) => {
        const sinceMs = parseDuration(options.since);
        if (sinceMs === undefined)
          throw new CliError(`--since "${options.since}" is not a duration such as 24h or 7d`, 2);
        const severity = options.severity === undefined ? undefined : SeveritySchema.safeParse(options.severity);
        if (severity && !severity.success)
          throw new CliError(`--severity "${options.severity}" is not one of low, medium, high, critical`, 2);
        if (options.status !== undefined && !(ALERT_STATUSES as readonly string[]).includes(options.status))
          throw new CliError(`--status "${options.status}" is not one of ${ALERT_STATUSES.join(", ")}`, 2);
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new CliError(`--limit "${options.limit}" is not a positive whole number`, 2);
        const { config } = cliContext(globals());
        await withQueues(config, async ({ redis, keyspace }) => {
          const records = await new AlertHistory(redis, keyspace, config.alertHistory).list({
            sinceMs: Date.now() - sinceMs,
            ...(options.rule ? { ruleId: options.rule } : {}),
            ...(severity?.success ? { severity: severity.data } : {}),
            ...(options.status ? { status: options.status as AlertStatus } : {}),
            limit,
          });
          if (options.json) {
            for (const record of records) print(JSON.stringify(record));
            return;
          }
          if (!records.length) {
            print(`no alerts in the last ${options.since}`);
            return;
          }
          print(
            formatTable(
              records.map(({ alert, status, entries }) => ({
                id: alert.id,
                raised: alert.createdAt,
                severity: alert.severity,
                rule: alert.ruleId,
                status,
                where: where(entries),
                title: alert.title.length > 60 ? `${alert.title.slice(0, 59)}…` : alert.title,
              })),
              ["id", "raised", "severity", "rule", "status", "where", "title"],
            ),
          );
        });
      },
    );

  alerts
    .command("show")
    .description("one alert: its evidence and its notification history")
    .argument("<id>", "the alert's id (from `vigil alerts list`)")
    .option("--json", "print the record as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const { config } = cliContext(globals());
      await withQueues(config, async ({ redis, keyspace }) => {
        const record = await new AlertHistory(redis, keyspace, config.alertHistory).get(id);
        if (!record)
          throw new CliError(
            `no alert ${id} in the history (kept ${config.alertHistory.retention / 86_400_000} days)`,
            1,
          );
        print(options.json ? JSON.stringify(record, null, 2) : describe(record));
      });
    });
}

/** Where an alert went, in a few words. */
function where(entries: readonly HistoryEntry[]): string {
  const sent = new Set<string>();
  for (const entry of entries) {
    if (entry.kind === "silenced") return `silence ${entry.silenceId}`;
    if (entry.kind === "inhibited") return `by ${entry.by}`;
    if (entry.kind === "delivery" && (entry.outcome === "sent" || entry.outcome === "already_sent"))
      sent.add(entry.channel);
  }
  if (sent.size) return [...sent].join(", ");
  const routed = entries.find((entry) => entry.kind === "routed");
  return routed?.kind === "routed" ? routed.targets.map((target) => target.route).join(", ") : "-";
}

/** One alert as a responder reads it: the same evidence and next steps its notifications carried, then every event id and its history. */
function describe({ alert, status, entries }: AlertRecord): string {
  const message = renderAlertMessage(alert);
  const lines = [
    `${alert.id}  ${message.headline}`,
    `status:   ${status}`,
    `rule:     ${alert.ruleName} (${alert.ruleId})${alert.provider ? `, provider ${alert.provider}` : ""}`,
    `raised:   ${message.raisedAt}`,
    `group:    ${message.group.map(({ field, value }) => `${field}=${value}`).join(", ") || "(none)"}`,
    `window:   ${message.window}`,
    `${message.evidence.heading}:`,
    ...message.evidence.lines.map((line) => `  ${line}`),
  ];
  if (message.next.runbook) lines.push(`runbook:  ${message.next.runbook}`);
  lines.push(`silence:  ${message.next.silence}`);
  lines.push("events:", ...message.events.map((line) => `  ${line}`));
  if (!message.events.length) lines.push("  (no event summary)");
  lines.push(`event ids (${alert.eventIds.length}${alert.count > alert.eventIds.length ? ` of ${alert.count}` : ""}):`);
  for (const id of alert.eventIds) lines.push(`  ${id}`);
  lines.push("history:");
  for (const entry of entries) lines.push(`  ${entry.at}  ${historyLine(entry)}`);
  if (!entries.length) lines.push("  (nothing recorded yet)");
  return lines.join("\n");
}

function historyLine(entry: HistoryEntry): string {
  switch (entry.kind) {
    case "routed":
      return `routed: ${entry.targets.map((target) => `${target.route} → ${target.channels.join(", ")}${target.grouped ? " (grouped)" : ""}`).join("; ")}`;
    case "unrouted":
      return "unrouted: no notify list, no route, no defaultRoute";
    case "silenced":
      return `silenced by ${entry.silenceId}: ${entry.reason}`;
    case "inhibited":
      return `inhibited by alert ${entry.by} (inhibit rule ${entry.inhibitRule})`;
    case "grouped":
      return `grouped in notification ${entry.notificationId} (${entry.route}) with ${entry.alertIds.length - 1} other alert(s): ${entry.alertIds.join(", ")}`;
    case "delivery":
      return `${entry.channel}: ${entry.outcome} (attempt ${entry.attempt}, notification ${entry.notificationId})${entry.answer ? `: ${entry.answer}` : ""}`;
  }
}
