import {
  type Alert,
  type AlertEventSummary,
  MAX_DISPLAYED_VALUE_CHARS,
  oneLineUntrusted,
  quoteUntrusted,
} from "@vigil/core";
import { alertEvidence } from "./alert-evidence.js";

/**
 * What a responder sees of an alert, decided once for every channel: each channel only lays
 * these parts out in its own format. Evidence comes first, then what to do next, then the
 * folded event ids.
 */
export interface AlertMessage {
  alertId: string;
  severity: Alert["severity"];
  /** `[HIGH] <title>`, the title on one line (a subject, a header). */
  headline: string;
  /** The title as the message's body shows it (quoted when rendered with `quote`). */
  title: string;
  description: string | undefined;
  ruleId: string;
  ruleName: string;
  provider: string | undefined;
  /** The group's fields and values (`actor.email` = `eve@example.com`). */
  group: { field: string; value: string }[];
  /** One line: "20 events in 2 m 16 s (2026-01-31 12:00:00 to 12:02:16 UTC)". */
  window: string;
  /** When the alert was raised, in UTC. */
  raisedAt: string;
  tags: string[];
  /** What made it fire: a heading and its lines, kind by kind. */
  evidence: { heading: string; lines: string[] };
  /** The first events, one line each (UTC times). */
  events: string[];
  /** Ids of the window's events, folded: a few shown, the rest counted. */
  eventIds: { shown: string[]; more: number };
  /** What to do next. */
  next: { runbook: string | undefined; silence: string; show: string };
  /** Links: the runbook, then the provider's own pages of the events. */
  links: { text: string; url: string }[];
  /** Whether event values are shown quoted (rendered with `quote`). */
  quoted: boolean;
}

/** How many event ids a message lists before folding the rest into a count. */
const SHOWN_EVENT_IDS = 5;
/** How long the printed silence command mutes the group for. */
export const SILENCE_FOR = "2h";
const MAX_PROVIDER_LINKS = 5;

/** How to render: `quote` shows every value from the events as quoted data (the email's text part). */
export interface RenderOptions {
  quote?: boolean;
}

/** Shows one untrusted value (from an audit event): on one line, controls escaped, cut; quoted when asked. */
type Data = (value: unknown) => string;

/**
 * What a responder sees of an alert. Every value that comes from an audit event (title, actors,
 * targets, group values, evidence) is shown on one line with its control characters escaped and
 * cut at 200 characters, so it cannot add lines that read as Vigil's own; with `quote` also in
 * double quotes, as event data.
 */
export function renderAlertMessage(alert: Alert, options: RenderOptions = {}): AlertMessage {
  const data: Data = (value) =>
    options.quote ? quoteUntrusted(displayValue(value)) : oneLineUntrusted(displayValue(value));
  const eventLine = (event: AlertEventSummary) => eventText(event, data);
  const group = Object.entries(alert.groupKey).map(([field, value]) => ({
    field: oneLineUntrusted(field),
    value: data(value),
  }));
  const runbook = alert.runbook;
  const providerLinks = alert.events
    .filter((event): event is AlertEventSummary & { link: string } => event.link !== undefined)
    .slice(0, MAX_PROVIDER_LINKS)
    .map((event) => ({
      text: `${oneLineUntrusted(event.action)} in ${alert.provider ?? "the provider"} (${oneLineUntrusted(event.id)})`,
      url: event.link,
    }));
  return {
    alertId: alert.id,
    severity: alert.severity,
    headline: `[${alert.severity.toUpperCase()}] ${oneLineUntrusted(alert.title)}`,
    title: data(alert.title),
    description: alert.description,
    ruleId: alert.ruleId,
    ruleName: alert.ruleName,
    provider: alert.provider,
    group,
    window: windowLine(alert),
    raisedAt: utc(alert.createdAt),
    tags: alert.tags,
    evidence: evidenceOf(alert, eventLine, data),
    events: alert.events.map(eventLine),
    eventIds: {
      shown: alert.eventIds.slice(0, SHOWN_EVENT_IDS).map((id) => oneLineUntrusted(id)),
      more: Math.max(0, alert.count, alert.eventIds.length) - Math.min(SHOWN_EVENT_IDS, alert.eventIds.length),
    },
    next: { runbook, silence: silenceCommand(alert), show: `vigil alerts show ${shellWord(alert.id)}` },
    links: [...(runbook ? [{ text: "Runbook", url: runbook }] : []), ...providerLinks],
    quoted: options.quote === true,
  };
}

/** The message as plain text, section by section (email text part, Alertmanager, PagerDuty details). */
export function alertMessageText(message: AlertMessage): string {
  const lines = [`[${message.severity.toUpperCase()}] ${message.title}`, ""];
  if (message.quoted)
    lines.push(
      `Values in double quotes are event data as received: on one line, control characters escaped, cut at ${MAX_DISPLAYED_VALUE_CHARS} characters.`,
      "",
    );
  if (message.description) lines.push(message.description, "");
  lines.push(`${message.evidence.heading}:`, ...message.evidence.lines.map((line) => `  ${line}`), "");
  lines.push(...factLines(message), "");
  lines.push("What to do next:");
  if (message.next.runbook) lines.push(`  Runbook:  ${message.next.runbook}`);
  lines.push(`  Silence this group for ${SILENCE_FOR}:`, `    ${message.next.silence}`);
  lines.push("  Full alert and its deliveries:", `    ${message.next.show}`, "");
  if (message.events.length) lines.push("First events:", ...message.events.map((line) => `  ${line}`), "");
  lines.push(`Event ids: ${foldedEventIds(message)}`);
  for (const link of message.links.filter((link) => link.text !== "Runbook")) lines.push(`${link.text}: ${link.url}`);
  return `${lines.join("\n")}\n`;
}

/** Rule, group, window, raised at, tags, alert id as label/value pairs. */
export function alertFacts(message: AlertMessage): { label: string; value: string }[] {
  return [
    { label: "Rule", value: `${message.ruleName} (${message.ruleId})` },
    { label: "Severity", value: message.severity },
    ...(message.provider ? [{ label: "Provider", value: message.provider }] : []),
    { label: "Group", value: groupText(message) },
    { label: "Window", value: message.window },
    { label: "Raised", value: message.raisedAt },
    ...(message.tags.length ? [{ label: "Tags", value: message.tags.join(", ") }] : []),
    { label: "Alert id", value: message.alertId },
  ];
}

function groupText(message: AlertMessage): string {
  return message.group.length ? message.group.map(({ field, value }) => `${field}=${value}`).join(", ") : "(none)";
}

/** "id1, id2, id3 and 17 more". */
export function foldedEventIds(message: AlertMessage): string {
  const { shown, more } = message.eventIds;
  if (shown.length === 0) return more > 0 ? `${more} events` : "(none)";
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}

function factLines(message: AlertMessage): string[] {
  const facts = alertFacts(message);
  const width = Math.max(...facts.map((fact) => fact.label.length)) + 1;
  return facts.map((fact) => `${`${fact.label}:`.padEnd(width + 1)}${fact.value}`);
}

function evidenceOf(
  alert: Alert,
  eventLine: (event: AlertEventSummary) => string,
  data: Data,
): AlertMessage["evidence"] {
  const evidence = alertEvidence(alert);
  const byId = new Map(alert.events.map((event) => [event.id, event]));
  switch (evidence.kind) {
    case "sequence":
      return {
        heading: `Sequence of ${evidence.steps.length} steps in ${humanDuration(spanMs(alert))}`,
        lines: evidence.steps.map((step, i) => {
          const first = step.eventIds.map((id) => byId.get(id)).find((event) => event !== undefined);
          const what = first ? eventLine(first) : data(step.eventIds[0] ?? "no event id");
          const others = step.eventIds.length > 1 ? ` (+${step.eventIds.length - 1} more)` : "";
          return `${i + 1}. ${oneLineUntrusted(step.name)}: ${what}${others}`;
        }),
      };
    case "newValue":
      return {
        heading: "New value",
        lines: [
          ...Object.entries(evidence.value).map(([field, value]) => `${oneLineUntrusted(field)} = ${data(value)}`),
          evidence.lastSeen ? `last seen ${utc(evidence.lastSeen)}` : "never seen before",
          ...(alert.events[0] ? [`seen now: ${eventLine(alert.events[0])}`] : []),
        ],
      };
    case "absence":
      return {
        heading: "Expected event missing",
        lines: [
          ...(evidence.anchor ? [`after: ${eventLine(evidence.anchor)}`] : []),
          `expected by ${utc(evidence.deadline)} (within ${humanDuration(spanMs(alert))}); nothing arrived`,
        ],
      };
    case "threshold":
      return {
        heading: windowLine(alert),
        lines: [
          ...(evidence.first ? [`first: ${eventLine(evidence.first)}`] : []),
          ...(evidence.last && evidence.last !== evidence.first ? [`last:  ${eventLine(evidence.last)}`] : []),
        ],
      };
    case "match":
      return { heading: "Matching event", lines: evidence.event ? [eventLine(evidence.event)] : [] };
    default: {
      const lines = Object.entries(evidence.fields).flatMap(([name, value]) =>
        Array.isArray(value) && value.some(isRecord)
          ? value.map((item, i) => `${oneLineUntrusted(name)} ${i + 1}: ${fieldsText(item, data)}`)
          : [`${oneLineUntrusted(name)}: ${fieldsText(value, data)}`],
      );
      if (lines.length) return { heading: `Evidence (${oneLineUntrusted(evidence.name ?? "")})`, lines };
      return { heading: "What happened", lines: [alert.description ?? data(alert.title)] };
    }
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A value of a kind's evidence on one line: a list as `a, b`, an object as `key=value` pairs; numbers as they are. */
function fieldsText(value: unknown, data: Data): string {
  const scalar = (item: unknown) => (typeof item === "number" || typeof item === "boolean" ? String(item) : data(item));
  if (Array.isArray(value)) return value.map(scalar).join(", ");
  if (isRecord(value))
    return Object.entries(value)
      .map(
        ([key, item]) => `${oneLineUntrusted(key)}=${Array.isArray(item) ? item.map(scalar).join(", ") : scalar(item)}`,
      )
      .join("  ");
  return scalar(value);
}

function windowLine(alert: Alert): string {
  const span = `${utc(alert.windowStart)} to ${sameDay(alert.windowStart, alert.windowEnd) ? timeOfDay(alert.windowEnd) : utc(alert.windowEnd)}`;
  if (alert.count <= 1) return span;
  return `${alert.count} events in ${humanDuration(spanMs(alert))} (${span})`;
}

function eventText(event: AlertEventSummary, data: Data): string {
  const parts = [oneLineUntrusted(utc(event.time)), data(event.action)];
  if (event.actor) parts.push(`by ${data(event.actor)}`);
  if (event.target) parts.push(`on ${data(event.target)}`);
  if (event.ip) parts.push(`from ${data(event.ip)}`);
  return parts.join(" ");
}

/** The command that silences this alert's group: its rule and each group value. */
function silenceCommand(alert: Alert): string {
  const matchers = [
    `ruleId=${alert.ruleId}`,
    ...Object.entries(alert.groupKey).map(([f, v]) => `${f}=${displayValue(v)}`),
  ].map((matcher) => oneLineUntrusted(matcher, SILENCE_MATCHER_CHARS));
  const args = matchers.map((matcher) => `--match ${shellWord(matcher)}`).join(" ");
  return `vigil silence add ${args} --for ${SILENCE_FOR} --reason "…"`;
}

/** A silence matcher is printed whole unless it is absurdly long (its control characters escaped all the same). */
const SILENCE_MATCHER_CHARS = 1_000;

/** A shell word: bare when it is safe, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function spanMs(alert: Alert): number {
  return Math.max(0, Date.parse(alert.windowEnd) - Date.parse(alert.windowStart));
}

/** `2026-01-31 12:00:10 UTC` (milliseconds dropped). */
export function utc(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function timeOfDay(iso: string): string {
  return utc(iso).slice(11);
}

function sameDay(a: string, b: string): boolean {
  return utc(a).slice(0, 10) === utc(b).slice(0, 10);
}

const UNITS = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
] as const;

/** A duration for people, in its two largest units: `2 m 16 s`, `1 h 5 m`, `3 d`, `450 ms`. */
export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0 || parts.length > 0) parts.push(`${amount} ${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((part) => !part.startsWith("0 ")).join(" ");
}

function displayValue(value: unknown): string {
  if (value === null || value === undefined) return "(empty)";
  return typeof value === "string" ? value : JSON.stringify(value);
}
