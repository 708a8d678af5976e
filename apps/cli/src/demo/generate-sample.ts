// Writes sample-events.jsonl: a day of ordinary audit activity across the five providers,
// with an attack story woven in. Deterministic; run with `pnpm tsx apps/cli/src/demo/generate-sample.ts`.
import { writeFileSync } from "node:fs";
import { seededRandom, type AuditEvent, type EventCategory, type EventOutcome } from "@vigil/core";

const random = seededRandom(20260302);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const DAY = Date.parse("2026-03-02T00:00:00Z");
const people = [
  { id: "u-101", name: "Ana Lima", email: "ana@acme.example" },
  { id: "u-102", name: "Ben Ode", email: "ben@acme.example" },
  { id: "u-103", name: "Chen Wu", email: "chen@acme.example" },
  { id: "u-104", name: "Dara Roy", email: "dara@acme.example" },
];
const officeIps = ["198.51.100.10", "198.51.100.11", "198.51.100.12"];
const mallory = { id: "u-666", name: "Mallory Vance", email: "mallory@acme.example" };
const attackerIp = "203.0.113.66";

const events: AuditEvent[] = [];
let counter = 0;
function add(
  provider: string,
  minute: number,
  fields: {
    action: string;
    category: EventCategory;
    outcome?: EventOutcome;
    actor?: AuditEvent["actor"];
    target?: AuditEvent["target"];
    ip?: string;
    attributes?: Record<string, unknown>;
  },
): void {
  const nativeId = `${provider.slice(0, 2)}-${(++counter).toString().padStart(5, "0")}`;
  const source = `${provider}-prod`;
  const time = new Date(DAY + Math.round(minute * 60_000)).toISOString();
  events.push({
    id: `${source}:${nativeId}`,
    source,
    provider,
    nativeId,
    time,
    action: fields.action,
    category: fields.category,
    outcome: fields.outcome ?? "success",
    actor: fields.actor ?? {},
    target: fields.target ?? {},
    ...(fields.ip ? { ip: fields.ip } : {}),
    attributes: fields.attributes ?? {},
    raw: { action: fields.action, time },
  });
}
const person = () => {
  const p = pick(people);
  return { id: p.id, name: p.name, email: p.email, type: "user" };
};

// Ordinary work, spread over the day.
for (let i = 0; i < 1500; i++) {
  const minute = 6 * 60 + random() * 12 * 60;
  const who = person();
  const ip = pick(officeIps);
  switch (pick(["zendesk", "pylon", "ashby", "logfire", "bloodhound"])) {
    case "zendesk":
      add("zendesk", minute, {
        ...pick([
          { action: "update", category: "update" as const, target: { type: "ticket", id: `${1000 + i}` } },
          { action: "create", category: "create" as const, target: { type: "ticket", id: `${1000 + i}` } },
          { action: "destroy", category: "delete" as const, target: { type: "ticket", id: `${1000 + i}` } },
          { action: "login", category: "authentication" as const, target: { type: "user", id: who.id } },
        ]),
        actor: who,
        ip,
      });
      break;
    case "pylon":
      add("pylon", minute, {
        ...pick([
          { action: "IssueOpened", category: "create" as const, target: { type: "issue", id: `iss-${i}` } },
          { action: "IssueAssigned", category: "update" as const, target: { type: "issue", id: `iss-${i}` } },
          { action: "LoginSucceeded", category: "authentication" as const },
        ]),
        actor: who,
        ip,
      });
      if (random() < 0.02)
        add("pylon", minute + 0.2, {
          action: "LoginFailed",
          category: "authentication",
          outcome: "failure",
          actor: who,
          ip,
        });
      break;
    case "ashby":
      add("ashby", minute, {
        ...pick([
          { action: "JobStatusChanged", category: "update" as const, target: { type: "job", id: `job-${i % 40}` } },
          { action: "CandidateViewed", category: "read" as const, target: { type: "candidate", id: `cand-${i}` } },
        ]),
        actor: { ...who, type: "User" },
        ip,
      });
      break;
    case "logfire":
      add("logfire", minute, {
        ...pick([
          { action: "LOGIN", category: "authentication" as const, target: { type: "users" } },
          { action: "UPDATE", category: "update" as const, target: { type: "dashboards", id: `dash-${i % 9}` } },
          { action: "INSERT", category: "create" as const, target: { type: "dashboards", id: `dash-new-${i}` } },
        ]),
        actor: { name: who.email, type: "user" },
        ip,
      });
      break;
    case "bloodhound":
      add("bloodhound", minute, {
        action: "LoginAttempt",
        category: "authentication",
        outcome: random() < 0.05 ? "failure" : "success",
        actor: { name: who.email },
        target: { type: "user", name: who.email },
        ip,
      });
      break;
  }
}

// The attack, as the attacker would work through it.
// 02:10 password spraying against BloodHound from one address.
for (const [i, user] of [
  "admin",
  "ana@acme.example",
  "ben@acme.example",
  "chen@acme.example",
  "dara@acme.example",
  "svc-backup",
  "root",
  "sa",
].entries()) {
  add("bloodhound", 130 + i * 0.4, {
    action: "LoginAttempt",
    category: "authentication",
    outcome: "failure",
    actor: { name: user },
    target: { type: "user", name: user },
    ip: attackerIp,
  });
}
// 02:13 a Logfire write token created at night.
add("logfire", 133, {
  action: "INSERT",
  category: "create",
  actor: { name: mallory.email, type: "user" },
  target: { type: "write_tokens", id: "tok-night" },
  ip: attackerIp,
});
// 02:20 the BloodHound SAML provider pointed elsewhere (intent row, then success).
add("bloodhound", 140, {
  action: "UpdateSAMLIdentityProvider",
  category: "permission",
  outcome: "unknown",
  actor: { name: "admin" },
  ip: attackerIp,
});
add("bloodhound", 140.01, {
  action: "UpdateSAMLIdentityProvider",
  category: "permission",
  outcome: "success",
  actor: { name: "admin" },
  ip: attackerIp,
});
// 13:05 brute force on Pylon logins, then an API token.
for (let i = 0; i < 15; i++)
  add("pylon", 785 + i * 0.3, {
    action: "LoginFailed",
    category: "authentication",
    outcome: "failure",
    actor: { email: mallory.email },
    ip: attackerIp,
  });
add("pylon", 791, {
  action: "APITokenCreated",
  category: "create",
  actor: { id: mallory.id, email: mallory.email, type: "user" },
  target: { type: "api_token", name: "siem-export" },
  ip: attackerIp,
});
// 13:20 a burst of report exports in Ashby with an API key.
for (let i = 0; i < 30; i++)
  add("ashby", 800 + i * 0.12, {
    action: "ReportExported",
    category: "export",
    actor: { id: "key-9", name: "reporting-key", type: "ApiUser" },
    target: { type: "report", name: "Pipeline by source" },
    ip: attackerIp,
  });
// 13:40 a Zendesk API token, then mass user deletion.
add("zendesk", 820, {
  action: "create",
  category: "create",
  actor: { id: mallory.id, email: mallory.email, name: mallory.name, type: "user" },
  target: { type: "apitoken", name: "backup-sync" },
  ip: attackerIp,
});
for (let i = 0; i < 12; i++)
  add("zendesk", 825 + i * 0.25, {
    action: "destroy",
    category: "delete",
    actor: { id: mallory.id, email: mallory.email, name: mallory.name, type: "user" },
    target: { type: "user", id: `${5000 + i}` },
    ip: attackerIp,
  });

events.sort((a, b) => a.time.localeCompare(b.time));
writeFileSync(
  new URL("./sample-events.jsonl", import.meta.url),
  `${events.map((e) => JSON.stringify(e)).join("\n")}\n`,
);
console.log(`wrote ${events.length} events`);
