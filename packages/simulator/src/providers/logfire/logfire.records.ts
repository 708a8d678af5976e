import { z } from "zod";
import type { RecordFactory, RecordKit } from "../provider.types.js";
import { mergeDraft } from "../shared/draft-merge.js";
import { formatInstant, parseRfc3339Us, type InstantPrecision } from "../shared/instant.js";
import { createPeople, ipFor } from "../shared/people.js";
import { Rfc3339StringSchema, draftTime } from "../shared/schema-helpers.js";
import { SeededRandom } from "@vigil/core";
import { randomSortedTimes } from "../shared/timeline.js";

export const LOGFIRE_ACTIONS = ["LOGIN", "LOGOUT", "INSERT", "UPDATE", "DELETE"] as const;
type LogfireAction = (typeof LOGFIRE_ACTIONS)[number];

/** A Logfire audit log as `GET /v1/audit-logs/` lists it. */
export const LogfireAuditLogSchema = z.object({
  id: z.string().min(1),
  created_at: Rfc3339StringSchema,
  organization_name: z.string(),
  project_name: z.string().nullable(),
  user_name: z.string(),
  action: z.enum(LOGFIRE_ACTIONS),
  resource_type: z.string().nullable(),
  record_id: z.string().nullable(),
  ip_address: z.string().nullable(),
});
export type LogfireAuditLog = z.infer<typeof LogfireAuditLogSchema>;

/** JSON-Patch operations that revert the change. */
const LogfirePatchSchema = z.object({ op: z.string(), path: z.string(), value: z.unknown().optional() });

/** The same record as `GET /v1/audit-logs/{id}/` serves it, with the diff. */
export const LogfireAuditLogDetailSchema = LogfireAuditLogSchema.extend({
  downgrade_patches: z.array(LogfirePatchSchema).nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});
export type LogfireAuditLogDetail = z.infer<typeof LogfireAuditLogDetailSchema>;

const LOGFIRE_PRECISION: InstantPrecision = "us-python";

/** Documented: projects, read_tokens, write_tokens. The rest are UNCONFIRMED table-like names. */
const RESOURCES: readonly {
  type: string;
  projectScoped: boolean;
  weight: number;
  updatable: readonly { path: string; values: readonly unknown[] }[];
}[] = [
  {
    type: "projects",
    projectScoped: true,
    weight: 3,
    updatable: [
      { path: "/project_name", values: ["checkout-api-old", "sandbox"] },
      { path: "/description", values: [null, "Main API"] },
      { path: "/visibility", values: ["private", "public"] },
    ],
  },
  {
    type: "read_tokens",
    projectScoped: true,
    weight: 3,
    updatable: [{ path: "/description", values: ["grafana", null] }],
  },
  {
    type: "write_tokens",
    projectScoped: true,
    weight: 4,
    updatable: [{ path: "/description", values: ["prod ingest", null] }],
  },
  {
    type: "api_keys",
    projectScoped: false,
    weight: 1,
    updatable: [{ path: "/scopes", values: [["project:read"], ["organizations:auditlog"]] }],
  },
  {
    type: "organization_members",
    projectScoped: false,
    weight: 2,
    updatable: [{ path: "/role", values: ["member", "guest"] }],
  },
  {
    type: "alerts",
    projectScoped: true,
    weight: 4,
    updatable: [
      { path: "/query", values: ["level >= error", "duration > 2s"] },
      { path: "/active", values: [true, false] },
    ],
  },
  {
    type: "dashboards",
    projectScoped: true,
    weight: 3,
    updatable: [{ path: "/name", values: ["Latency", "Errors by service"] }],
  },
  {
    type: "channels",
    projectScoped: false,
    weight: 1,
    updatable: [{ path: "/url", values: ["https://hooks.slack.example/T000/B000"] }],
  },
];
/** Credentials are created in working hours: ordinary activity never creates one at night (an intruder may). */
const CREDENTIALS = new Set(["read_tokens", "write_tokens", "api_keys"]);
const DAYTIME_RESOURCES = RESOURCES.filter((r) => !CREDENTIALS.has(r.type));
const isNight = (timeUs: number) => {
  const hour = new Date(timeUs / 1000).getUTCHours();
  return hour < 7 || hour >= 21;
};
const PROJECTS = ["checkout-api", "fastapi-example", "web-frontend", "ml-pipeline", "billing-worker"];
const ACTION_WEIGHTS: readonly { action: LogfireAction; weight: number }[] = [
  { action: "LOGIN", weight: 20 },
  { action: "LOGOUT", weight: 7 },
  { action: "INSERT", weight: 10 },
  { action: "UPDATE", weight: 12 },
  { action: "DELETE", weight: 3 },
];

function createLogfireRecordFactory(context: { seed: number }): RecordFactory<LogfireAuditLogDetail> {
  const rng = new SeededRandom(context.seed);
  const members = createPeople(rng, 9, "acme.example").map((p) => ({ ...p, userName: `${p.firstName}${p.lastName}` }));
  const organizationName = "acme-observability";

  function build(action: LogfireAction, timeUs: number): LogfireAuditLogDetail {
    const member = rng.pick(members);
    const base = {
      id: rng.uuid(),
      created_at: formatInstant(timeUs, LOGFIRE_PRECISION),
      organization_name: organizationName,
      user_name: member.userName,
      action,
      ip_address: rng.chance(0.95) ? ipFor(rng, member) : null,
    };
    if (action === "LOGIN" || action === "LOGOUT") {
      return {
        ...base,
        project_name: null,
        resource_type: null,
        record_id: null,
        downgrade_patches: null,
        metadata: action === "LOGIN" ? { auth_method: rng.pick(["github", "google", "sso"]) } : null,
      };
    }
    const resource = rng.weighted(action === "INSERT" && isNight(timeUs) ? DAYTIME_RESOURCES : RESOURCES);
    const field = rng.pick(resource.updatable);
    return {
      ...base,
      project_name: resource.projectScoped ? rng.pick(PROJECTS) : null,
      resource_type: resource.type,
      record_id: rng.uuid(),
      downgrade_patches:
        action === "UPDATE" ? [{ op: "replace", path: field.path, value: rng.pick(field.values) }] : null,
      metadata: null,
    };
  }

  return {
    generate(count, startUs, endUs) {
      return randomSortedTimes(rng, count, startUs, endUs, LOGFIRE_PRECISION).map((timeUs) =>
        build(rng.weighted(ACTION_WEIGHTS).action, timeUs),
      );
    },
    fromDraft(draft, timeUs) {
      const action = LOGFIRE_ACTIONS.find((a) => a === draft.action) ?? rng.weighted(ACTION_WEIGHTS).action;
      return [mergeDraft(build(action, timeUs), draft)];
    },
  };
}

export const logfireRecordKit: RecordKit<"logfire"> = {
  precision: LOGFIRE_PRECISION,
  schema: LogfireAuditLogDetailSchema,
  timeOf: (record) => parseRfc3339Us(record.created_at) ?? 0,
  withTime: (record, timeUs) => ({ ...record, created_at: formatInstant(timeUs, LOGFIRE_PRECISION) }),
  idOf: (record) => record.id,
  draftTimeUs: (draft) => draftTime(draft, "created_at"),
  // UNCONFIRMED whether list items carry the two detail fields as null; the docs' list example omits them.
  toListed: ({ downgrade_patches: _patches, metadata: _metadata, ...listed }) => listed,
  createFactory: ({ seed }) => createLogfireRecordFactory({ seed }),
};
