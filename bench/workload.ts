import { seededRandom, type AuditEvent, type EventCategory } from "@vigil/core";
import type { RuleInput } from "@vigil/engine";

const PROVIDER_ACTIONS: Record<string, [string, EventCategory][]> = {
  pylon: [
    ["IssueOpened", "create"],
    ["IssueAssigned", "update"],
    ["LoginSucceeded", "authentication"],
    ["LoginFailed", "authentication"],
    ["UserRoleChanged", "permission"],
    ["APITokenCreated", "create"],
    ["UserDeleted", "delete"],
    ["TeamMemberAdded", "permission"],
  ],
  zendesk: [
    ["update", "update"],
    ["create", "create"],
    ["destroy", "delete"],
    ["login", "authentication"],
    ["exported", "export"],
  ],
  ashby: [
    ["JobStatusChanged", "update"],
    ["CandidateViewed", "read"],
    ["AuditLogRead", "read"],
    ["ApplicationCreated", "create"],
  ],
  logfire: [
    ["LOGIN", "authentication"],
    ["UPDATE", "update"],
    ["INSERT", "create"],
    ["DELETE", "delete"],
    ["LOGOUT", "authentication"],
  ],
  bloodhound: [
    ["LoginAttempt", "authentication"],
    ["UpdateUser", "update"],
    ["CreateAuthToken", "create"],
    ["DeleteUser", "delete"],
    ["ExportAllRisks", "export"],
    ["MutateGraph", "update"],
    ["UpdateSAMLIdentityProvider", "permission"],
  ],
};
const PROVIDERS = Object.keys(PROVIDER_ACTIONS);
const TARGET_TYPES = ["user", "ticket", "api_token", "job", "write_tokens", "read_tokens", "issue", "asset_group"];

/** The (provider, action) pairs the bench's threshold rules count, in generateRules' order. */
const BURSTS: [string, string, string][] = [
  ["pylon", "LoginFailed", "authentication"],
  ["zendesk", "destroy", "delete"],
  ["ashby", "CandidateViewed", "read"],
  ["logfire", "DELETE", "delete"],
  ["bloodhound", "LoginAttempt", "authentication"],
  ["bloodhound", "DeleteUser", "delete"],
  ["pylon", "UserDeleted", "delete"],
  ["zendesk", "exported", "export"],
  ["ashby", "AuditLogRead", "read"],
  ["logfire", "LOGIN", "authentication"],
];
const BURST_SEGMENT_MS = 10 * 60_000;
/** Share of a segment's events that belong to its burst (one actor, one IP, one action). */
const BURST_SHARE = 0.015;

/**
 * Realistic normalized events: ~20 fields, many actors, a few hundred IPs, spread over `spanMs`;
 * in every 10-minute segment one actor bursts on one of the threshold rules' actions, so the
 * windowed rules fire now and then, as attacks make them.
 */
export function generateEvents(
  count: number,
  options: { seed?: number; startMs?: number; spanMs?: number } = {},
): AuditEvent[] {
  const random = seededRandom(options.seed ?? 7);
  const start = options.startMs ?? Date.parse("2026-03-01T00:00:00Z");
  const span = options.spanMs ?? 6 * 3_600_000;
  const events: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    const offset = Math.floor((i / count) * span);
    const segment = Math.floor(offset / BURST_SEGMENT_MS);
    const burst = random() < BURST_SHARE ? BURSTS[segment % BURSTS.length]! : undefined;
    const provider = burst?.[0] ?? PROVIDERS[Math.floor(random() * PROVIDERS.length)]!;
    const actions = PROVIDER_ACTIONS[provider]!;
    const [action, category] = burst
      ? [burst[1], burst[2] as EventCategory]
      : actions[Math.floor(random() * actions.length)]!;
    const actor = burst ? 1000 + (segment % 7) : Math.floor(random() * 500);
    const time = new Date(start + offset).toISOString();
    const nativeId = `n${i.toString(36)}`;
    events.push({
      id: `${provider}-prod:${nativeId}`,
      source: `${provider}-prod`,
      provider,
      nativeId,
      time,
      action,
      category,
      outcome: random() < 0.08 ? "failure" : "success",
      actor: {
        id: `u${actor}`,
        name: `User ${actor}`,
        email: `user${actor}@acme.example`,
        type: random() < 0.1 ? "api" : "user",
      },
      target: {
        id: `t${Math.floor(random() * 5000)}`,
        type: TARGET_TYPES[Math.floor(random() * TARGET_TYPES.length)],
        name: `target-${Math.floor(random() * 5000)}`,
      },
      ip: burst ? `203.0.113.${segment % 250}` : `198.51.${Math.floor(random() * 4)}.${Math.floor(random() * 250)}`,
      attributes: { userAgent: "Mozilla/5.0", region: random() < 0.5 ? "us" : "eu", requestId: `req-${i}` },
      raw: { id: nativeId, action, created_at: time },
    });
  }
  return events;
}

/**
 * Rules like the shipped ones: `total` rules of which a fifth are threshold rules (50 → 10,
 * 200 → 40), each pinned to one provider and action as real detections are. With `stateful`,
 * 8 of the match rules give way to 3 sequence, 3 newValue and 2 absence rules.
 */
export function generateRules(total = 50, options: { stateful?: boolean } = {}): RuleInput[] {
  const thresholdCount = Math.round(total / 5);
  const stateful = options.stateful ? statefulRules() : [];
  const matchCount = total - thresholdCount - stateful.length;
  const rules: RuleInput[] = [...stateful];
  const pairs = PROVIDERS.flatMap((provider) =>
    PROVIDER_ACTIONS[provider]!.map(([action, category]) => [provider, action, category] as const),
  );
  for (let n = 0; rules.length < matchCount; n++) {
    const [provider, action, category] = pairs[n % pairs.length]!;
    const round = Math.floor(n / pairs.length);
    const variant = n % 4;
    // Detections are rare: each match rule fires on a small fraction of its action's events.
    const extra =
      variant === 0
        ? {
            and: [
              { "==": [{ var: "outcome" }, "failure"] },
              { "==": [{ var: "actor.type" }, "api"] },
              { "!=": [{ var: "actor.id" }, `u${round}`] },
            ],
          }
        : variant === 1
          ? {
              and: [
                { in: [{ var: "target.type" }, ["api_token", "write_tokens"]] },
                { in: [{ var: "actor.id" }, [`u${1 + round}`, `u${2 + round}`, `u${3 + round}`]] },
              ],
            }
          : variant === 2
            ? {
                and: [
                  { "==": [{ var: "outcome" }, "failure"] },
                  { matches: [{ var: "actor.email" }, `^user${1 + round}[0-9]@`] },
                ],
              }
            : { starts_with: [{ var: "ip" }, `198.51.3.2${round % 10}`] };
    rules.push({
      id: `bench.${provider}.${action}.${variant}.${round}`,
      name: `${provider} ${action} (${category})`,
      severity: "medium",
      when: { and: [{ "==": [{ var: "provider" }, provider] }, { "==": [{ var: "action" }, action] }, extra] },
      title: "{{actor.email}} did {{action}}",
    });
  }
  const thresholds: [string, string, string, string | undefined][] = [
    ["pylon", "LoginFailed", "ip", undefined],
    ["zendesk", "destroy", "actor.id", undefined],
    ["ashby", "CandidateViewed", "actor.id", undefined],
    ["logfire", "DELETE", "actor.id", undefined],
    ["bloodhound", "LoginAttempt", "ip", "target.name"],
    ["bloodhound", "DeleteUser", "actor.id", undefined],
    ["pylon", "UserDeleted", "actor.id", "target.id"],
    ["zendesk", "exported", "actor.id", undefined],
    ["ashby", "AuditLogRead", "actor.id", "target.id"],
    ["logfire", "LOGIN", "ip", undefined],
  ];
  for (let n = 0; n < thresholdCount; n++) {
    const [provider, action, groupBy, distinct] = thresholds[n % thresholds.length]!;
    const round = Math.floor(n / thresholds.length);
    rules.push({
      id: `bench.threshold.${provider}.${action}.${round}`,
      name: `${provider} ${action} burst`,
      severity: "high",
      when: { and: [{ "==": [{ var: "provider" }, provider] }, { "==": [{ var: "action" }, action] }] },
      threshold: {
        count: 20 + 5 * round,
        within: `${5 + round}m`,
        groupBy: [groupBy],
        ...(distinct ? { distinct } : {}),
      },
      title: "{{count}} {{action}} by {{actor.email}}",
    });
  }
  return rules;
}

/** Sequence, newValue and absence rules over the generated events (they fire now and then). */
function statefulRules(): RuleInput[] {
  const on = (provider: string, action: string) => ({
    and: [{ "==": [{ var: "provider" }, provider] }, { "==": [{ var: "action" }, action] }],
  });
  return [
    {
      id: "bench.sequence.pylon-login",
      name: "Pylon failures then success",
      severity: "high",
      when: { "==": [{ var: "provider" }, "pylon"] },
      sequence: {
        groupBy: ["actor.id"],
        within: "30m",
        steps: [
          { name: "failures", when: { "==": [{ var: "action" }, "LoginFailed"] }, count: 2 },
          { name: "success", when: { "==": [{ var: "action" }, "LoginSucceeded"] } },
        ],
      },
    },
    {
      id: "bench.sequence.bloodhound-token-export",
      name: "BloodHound token then export",
      severity: "high",
      when: { "==": [{ var: "provider" }, "bloodhound"] },
      sequence: {
        groupBy: ["actor.id"],
        within: "1h",
        steps: [
          { name: "token", when: { "==": [{ var: "action" }, "CreateAuthToken"] } },
          { name: "export", when: { "==": [{ var: "action" }, "ExportAllRisks"] } },
        ],
      },
    },
    {
      id: "bench.sequence.zendesk-any-order",
      name: "Zendesk create, destroy and export in any order",
      severity: "medium",
      when: { "==": [{ var: "provider" }, "zendesk"] },
      sequence: {
        groupBy: ["actor.id"],
        within: "20m",
        ordered: false,
        steps: [
          { name: "create", when: { "==": [{ var: "action" }, "create"] } },
          { name: "destroy", when: { "==": [{ var: "action" }, "destroy"] } },
          { name: "export", when: { "==": [{ var: "action" }, "exported"] } },
        ],
      },
    },
    {
      id: "bench.new-value.bloodhound-ip",
      name: "New IP",
      severity: "medium",
      when: on("bloodhound", "LoginAttempt"),
      newValue: { groupBy: ["actor.id"], fields: ["ip"], learning: "2h", forgetAfter: "1d" },
    },
    {
      id: "bench.new-value.logfire-ip",
      name: "New IP",
      severity: "medium",
      when: on("logfire", "LOGIN"),
      newValue: { groupBy: ["actor.id"], fields: ["ip"], learning: "2h", forgetAfter: "1d" },
    },
    {
      id: "bench.new-value.ashby-target",
      name: "New target type",
      severity: "low",
      when: { "==": [{ var: "provider" }, "ashby"] },
      newValue: { groupBy: ["actor.id"], fields: ["action", "target.type"], learning: "2h", forgetAfter: "7d" },
    },
    {
      id: "bench.absence.zendesk-create-not-destroyed",
      name: "Zendesk create not followed by a destroy",
      severity: "low",
      when: { "==": [{ var: "provider" }, "zendesk"] },
      absence: {
        groupBy: ["actor.id"],
        after: { "==": [{ var: "action" }, "create"] },
        expect: { "==": [{ var: "action" }, "destroy"] },
        within: "30m",
      },
    },
    {
      id: "bench.absence.pylon-actor-silent",
      name: "Pylon actor silent for a day",
      severity: "low",
      when: { "==": [{ var: "provider" }, "pylon"] },
      absence: { groupBy: ["actor.id"], within: "1d" },
    },
  ];
}
