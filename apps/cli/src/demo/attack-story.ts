import type { ProviderName, ProviderSimulatorOptions } from "@vigil/simulator";

const ATTACKER_IP = "203.0.113.66";
const MALLORY = { name: "Mallory Vance", email: "mallory@acme.example" };
/** The Pylon account the attacker brute-forces (a support agent, no admin). */
const PYLON_VICTIM = { id: "e2b7c0d4-3f5a-4c8e-9b1d-6a7f8e9c0d21", email: "dara.roy@acme-support.example" };
/** Mallory's own Pylon account, used from London and, 45 minutes later, from Jilin (China). */
const MALLORY_PYLON = { id: "5f0c3a9e-6d1b-4f7a-9c2e-8b4d7e1a0f36", email: MALLORY.email };
// Addresses from the ranges MaxMind's own test databases use, which the shipped DB-IP data locates:
// London, GB and Jilin, CN (the simulator's other addresses are documentation ranges, which have no location).
const LONDON_IP = "81.2.69.160";
const JILIN_IP = "175.16.199.10";

/** The most recent 02:13 UTC before `now`: the Logfire token is created at night. */
function lastNight(now: Date): string {
  const night = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 2, 13, 7));
  if (night.getTime() > now.getTime() - 60_000) night.setUTCDate(night.getUTCDate() - 1);
  return night.toISOString();
}

/**
 * An intrusion told across the five providers, as raw provider records (the simulator fills in
 * the rest). Without times of their own the records follow the generated background, one second
 * apart, in this order.
 */
export function attackStory(now: Date): NonNullable<ProviderSimulatorOptions["storyRecords"]> {
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const malloryLogin = (at: string, ip: string) => ({
    action: "LoginSucceeded",
    action_happened_at: at,
    created_at: at,
    object_type: "user",
    object_id: MALLORY_PYLON.id,
    actor_user_id: MALLORY_PYLON.id,
    attributes: { user_email: MALLORY_PYLON.email, login_method: "password" },
    metadata: { ip_address: ip },
  });
  return {
    // Password spraying: one address tries eight user names.
    bloodhound: [
      ...["admin", "ana.lima", "ben.ode", "chen.wu", "dara.roy", "svc-backup", "root", "sa"].map((username) => ({
        action: "LoginAttempt",
        status: "failure" as const,
        fields: { username },
        source_ip_address: ATTACKER_IP,
      })),
      // Then, with the sprayed svc-backup account, the identity provider is pointed elsewhere.
      {
        action: "UpdateSAMLIdentityProvider",
        status: "success" as const,
        actor_id: "9a3e5c71-2b4d-4f60-8e1a-7c9b0d2f4e85",
        actor_name: "svc-backup",
        actor_email: "svc-backup@corp.example",
        source_ip_address: ATTACKER_IP,
      },
    ],
    // A write token created at night.
    logfire: [
      {
        action: "INSERT" as const,
        resource_type: "write_tokens",
        user_name: MALLORY.email,
        ip_address: ATTACKER_IP,
        created_at: lastNight(now),
      },
    ],
    pylon: [
      // Mallory's account logs in from London over the past days (its history), then from London
      // and from Jilin 45 minutes apart: impossible travel, and a country it never logged in from.
      // (every 20 hours from nine days ago: the pylon source never goes quiet for a day).
      ...Array.from({ length: 9 }, (_, i) => ago(9 * 86_400_000 - i * 20 * 3_600_000)).map((at) =>
        malloryLogin(at, LONDON_IP),
      ),
      malloryLogin(ago(70 * 60_000), LONDON_IP),
      malloryLogin(ago(25 * 60_000), JILIN_IP),
      // Brute force on a support agent's login until it succeeds, then an API token with that account.
      ...Array.from({ length: 12 }, () => ({
        action: "LoginFailed",
        object_type: "user",
        object_id: PYLON_VICTIM.id,
        attributes: { user_email: PYLON_VICTIM.email, reason: "invalid_password" },
        metadata: { ip_address: ATTACKER_IP },
      })),
      {
        action: "LoginSucceeded",
        object_type: "user",
        object_id: PYLON_VICTIM.id,
        actor_user_id: PYLON_VICTIM.id,
        attributes: { user_email: PYLON_VICTIM.email, login_method: "password" },
        metadata: { ip_address: ATTACKER_IP },
      },
      {
        action: "APITokenCreated",
        object_type: "api_token",
        actor_user_id: PYLON_VICTIM.id,
        attributes: { token_name: "siem-export" },
        metadata: { ip_address: ATTACKER_IP },
      },
    ],
    // A burst of report exports with an API key.
    ashby: Array.from({ length: 24 }, () => ({
      category: "ReportExported",
      actor: { type: "ApiUser", id: "5d8f1c1e-9a0b-4c55-8f65-3b9d0a7e2c11", name: "BI warehouse export" },
      target: { type: "report", id: null, name: "Pipeline by source" },
    })),
    // An API token that nobody reviews within the hour, then mass user deletion.
    zendesk: [
      {
        created_at: new Date(now.getTime() - 3 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        action: "create",
        source_type: "apitoken",
        source_label: "API token: backup-sync",
        actor_id: 66600,
        actor_name: MALLORY.name,
        ip_address: ATTACKER_IP,
      },
      ...Array.from({ length: 12 }, (_, i) => ({
        action: "destroy",
        source_type: "user",
        source_id: 910_000 + i,
        source_label: `User ${910_000 + i}`,
        actor_id: 66600,
        actor_name: MALLORY.name,
        ip_address: ATTACKER_IP,
      })),
    ],
  } satisfies { [P in ProviderName]?: unknown[] };
}

/** The steps of the story, in its order, with the rules each should raise an alert of. */
export const STORY_STEPS: readonly { step: string; rules: readonly string[] }[] = [
  { step: "1. password spraying against BloodHound", rules: ["bloodhound.password-spray"] },
  { step: "2. BloodHound's SAML identity provider pointed elsewhere", rules: ["bloodhound.identity-provider-changed"] },
  { step: "3. a Logfire write token created at night", rules: ["logfire.write-token-created-at-night"] },
  {
    step: "4. a Pylon login brute-forced until it succeeds (a sequence)",
    rules: ["pylon.brute-force-login", "pylon.brute-force-then-success"],
  },
  { step: "5. a Pylon API token for persistence", rules: ["pylon.api-token-created"] },
  { step: "6. a burst of Ashby report exports with an API key", rules: ["ashby.bulk-read-burst"] },
  {
    step: "7. a Zendesk API token nobody reviews (an absence, decided on the watermark)",
    rules: ["zendesk.api-token-created", "zendesk.token-created-not-approved"],
  },
  { step: "8. mass deletion of Zendesk users", rules: ["zendesk.mass-user-deletion"] },
  {
    step: "9. Mallory's Pylon account used from London and, 45 minutes later, from Jilin (impossible travel, first seen)",
    rules: ["pylon.impossible-travel", "pylon.login-from-new-country", "pylon.login-from-new-ip"],
  },
];

/** The story step an alert belongs to: by its rule, and for rules ordinary activity can also raise, by the attacker in it. */
export function storyStepOf(alert: {
  ruleId: string;
  title: string;
  events: { ip?: string; actor?: string }[];
}): string | undefined {
  const step = STORY_STEPS.find((s) => s.rules.includes(alert.ruleId));
  if (!step) return undefined;
  const byAttacker =
    alert.title.includes(MALLORY.name) ||
    alert.title.includes(MALLORY.email) ||
    alert.title.includes(ATTACKER_IP) ||
    alert.title.includes("BI warehouse export") ||
    alert.events.some(
      (e) =>
        e.ip === ATTACKER_IP ||
        e.ip === JILIN_IP ||
        e.actor === MALLORY.email ||
        e.actor === MALLORY_PYLON.id ||
        e.actor === PYLON_VICTIM.id,
    );
  return byAttacker ? step.step : undefined;
}

/** The providers the attack story has a part for. */
export function attackStoryProviders(): string[] {
  return Object.keys(attackStory(new Date()));
}
