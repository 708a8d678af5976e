import type { ProviderName, ProviderSimulatorOptions } from "@vigil/simulator";

const ATTACKER_IP = "203.0.113.66";
const MALLORY = { name: "Mallory Vance", email: "mallory@acme.example" };

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
  return {
    // Password spraying: one address tries eight user names.
    bloodhound: [
      ...["admin", "ana.lima", "ben.ode", "chen.wu", "dara.roy", "svc-backup", "root", "sa"].map((username) => ({
        action: "LoginAttempt",
        status: "failure" as const,
        fields: { username },
        source_ip_address: ATTACKER_IP,
      })),
      // Then the identity provider is pointed elsewhere.
      {
        action: "UpdateSAMLIdentityProvider",
        status: "success" as const,
        actor_name: "admin",
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
    // Brute force on logins, then an API token.
    pylon: [
      ...Array.from({ length: 12 }, () => ({
        action: "LoginFailed",
        object_type: "user",
        metadata: { ip_address: ATTACKER_IP },
      })),
      {
        action: "APITokenCreated",
        object_type: "api_token",
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
    // An API token, then mass user deletion.
    zendesk: [
      {
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

/** The alerts the story should raise, one per rule. */
export const STORY_RULES = [
  "bloodhound.password-spray",
  "bloodhound.identity-provider-changed",
  "logfire.write-token-created-at-night",
  "pylon.brute-force-login",
  "pylon.api-token-created",
  "ashby.bulk-read-burst",
  "zendesk.api-token-created",
  "zendesk.mass-user-deletion",
];

/** The providers the attack story has a part for. */
export function attackStoryProviders(): string[] {
  return Object.keys(attackStory(new Date()));
}
