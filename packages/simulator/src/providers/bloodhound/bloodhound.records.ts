import { z } from "zod";
import type { RecordFactory, RecordKit } from "../provider.types.js";
import { mergeDraft } from "../shared/draft-merge.js";
import { formatInstant, MICROS_PER_MS, parseRfc3339Us, type InstantPrecision } from "../shared/instant.js";
import { createPeople, ipFor, randomPrivateIp, type Person } from "../shared/people.js";
import { Rfc3339StringSchema, draftTime } from "../shared/schema-helpers.js";
import { SeededRandom } from "@vigil/core";
import { randomSortedTimes } from "../shared/timeline.js";

export const BLOODHOUND_STATUSES = ["intent", "success", "failure"] as const;

/** A BloodHound audit log row (`model.AuditLog`). */
export const BloodHoundAuditLogSchema = z.object({
  id: z.int(),
  created_at: Rfc3339StringSchema,
  /** User UUID; empty when the request was not authenticated (a failed login). */
  actor_id: z.string(),
  actor_name: z.string(),
  actor_email: z.string(),
  action: z.string().min(1),
  /** The audited model's data, plus `error` on failures. */
  fields: z.record(z.string(), z.unknown()),
  request_id: z.string(),
  source_ip_address: z.string(),
  status: z.enum(BLOODHOUND_STATUSES),
  /** Shared by the intent row and its outcome row. */
  commit_id: z.string(),
});
export type BloodHoundAuditLog = z.infer<typeof BloodHoundAuditLogSchema>;

/** Postgres microseconds, written by Go's RFC3339Nano (trailing zeros trimmed). */
const BLOODHOUND_PRECISION: InstantPrecision = "us-go";

interface BloodHoundUser extends Person {
  id: string;
  principalName: string;
  roles: string[];
}

interface FieldContext {
  rng: SeededRandom;
  actor: BloodHoundUser;
  users: readonly BloodHoundUser[];
}

interface ActionSpec {
  weight: number;
  /** `pair`: an audited transaction, an intent row then its outcome; `single`: one row. */
  rows: "pair" | "single";
  failureRate: number;
  fields(ctx: FieldContext): Record<string, unknown>;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";
const ASSET_GROUPS = ["Admin Tier Zero", "Owned", "Domain Controllers", "Cloud Admins"];
const RISK_IDS = ["T0MarkSensitive", "T0AddMember", "T0GenericAll", "LargeDefaultGroupsAdmins", "KerberoastableUsers"];

const userFields = (user: BloodHoundUser) => ({
  id: user.id,
  principal_name: user.principalName,
  email_address: user.email,
  first_name: user.firstName,
  last_name: user.lastName,
  roles: user.roles,
});

const tokenFields = ({ rng, actor }: FieldContext) => ({
  id: rng.uuid(),
  user_id: actor.id,
  client_id: null,
  name: rng.pick(["splunk-integration", "sentinel-connector", "xsoar", "jupyter", "personal"]),
  last_access: ZERO_TIME,
});

/** The action vocabulary of `model/audit.go`, weighted like a quiet week of a BloodHound tenant. */
export const BLOODHOUND_ACTIONS: Readonly<Record<string, ActionSpec>> = {
  LoginAttempt: {
    weight: 24,
    rows: "pair",
    failureRate: 0.15,
    fields: ({ actor }) => ({ username: actor.principalName }),
  },
  UnauthorizedAccessAttempt: {
    weight: 1,
    rows: "single",
    failureRate: 1,
    fields: ({ rng }) => ({ path: rng.pick(["/api/v2/audit", "/api/v2/bloodhound-users", "/api/v2/clear-database"]) }),
  },
  AcceptEULA: { weight: 0.3, rows: "pair", failureRate: 0, fields: () => ({}) },
  CreateUser: { weight: 1, rows: "pair", failureRate: 0.05, fields: ({ rng, users }) => userFields(rng.pick(users)) },
  UpdateUser: { weight: 2, rows: "pair", failureRate: 0.05, fields: ({ rng, users }) => userFields(rng.pick(users)) },
  DeleteUser: { weight: 0.4, rows: "pair", failureRate: 0.05, fields: ({ rng, users }) => userFields(rng.pick(users)) },
  CreateAuthToken: { weight: 2, rows: "pair", failureRate: 0.02, fields: tokenFields },
  UpdateAuthTokenExpiration: { weight: 0.4, rows: "pair", failureRate: 0, fields: tokenFields },
  DeleteAuthToken: { weight: 1.5, rows: "pair", failureRate: 0.02, fields: tokenFields },
  DeleteAllAuthTokens: {
    weight: 0.05,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng, users }) => ({ user_id: rng.pick(users).id }),
  },
  CreateAuthSecret: {
    weight: 0.4,
    rows: "pair",
    failureRate: 0.05,
    fields: ({ rng, actor }) => ({ id: rng.int(1, 400), user_id: actor.id }),
  },
  UpdateAuthSecret: {
    weight: 0.6,
    rows: "pair",
    failureRate: 0.1,
    fields: ({ rng, actor }) => ({ id: rng.int(1, 400), user_id: actor.id }),
  },
  CreateSAMLIdentityProvider: {
    weight: 0.05,
    rows: "pair",
    failureRate: 0,
    fields: () => ({ name: "okta", display_name: "Okta" }),
  },
  UpdateSAMLIdentityProvider: {
    weight: 0.05,
    rows: "pair",
    failureRate: 0,
    fields: () => ({ name: "okta", display_name: "Okta" }),
  },
  CreateOIDCIdentityProvider: {
    weight: 0.05,
    rows: "pair",
    failureRate: 0,
    fields: () => ({ name: "entra", client_id: "bh-oidc-client" }),
  },
  UpdateSSOIdentityProvider: {
    weight: 0.1,
    rows: "pair",
    failureRate: 0,
    fields: () => ({ name: "okta", type: "SAML" }),
  },
  DeleteSSOIdentityProvider: {
    weight: 0.03,
    rows: "pair",
    failureRate: 0,
    fields: () => ({ name: "okta", type: "SAML" }),
  },
  CreateAssetGroup: {
    weight: 0.3,
    rows: "pair",
    failureRate: 0.05,
    fields: ({ rng }) => ({ name: rng.pick(ASSET_GROUPS), tag: "custom", system_group: false }),
  },
  UpdateAssetGroupTag: {
    weight: 0.8,
    rows: "pair",
    failureRate: 0.05,
    fields: ({ rng }) => ({ id: rng.int(1, 20), name: rng.pick(ASSET_GROUPS) }),
  },
  CreateAssetGroupTagSelector: {
    weight: 1.5,
    rows: "pair",
    failureRate: 0.05,
    fields: ({ rng }) => ({ asset_group_tag_id: rng.int(1, 20), name: `selector-${rng.int(1, 99)}` }),
  },
  DeleteAssetGroupTagSelector: {
    weight: 0.5,
    rows: "pair",
    failureRate: 0.05,
    fields: ({ rng }) => ({ asset_group_tag_id: rng.int(1, 20), id: rng.int(1, 300) }),
  },
  AcceptRisk: {
    weight: 0.8,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({ finding: rng.pick(RISK_IDS), accepted_until: ZERO_TIME }),
  },
  UnacceptRisk: { weight: 0.3, rows: "pair", failureRate: 0, fields: ({ rng }) => ({ finding: rng.pick(RISK_IDS) }) },
  ExportListRisks: {
    weight: 0.6,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({ finding: rng.pick(RISK_IDS), format: "csv" }),
  },
  ExportAllRisks: { weight: 0.2, rows: "pair", failureRate: 0, fields: () => ({ format: "csv" }) },
  ExportRelationshipRisks: {
    weight: 0.2,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({ finding: rng.pick(RISK_IDS) }),
  },
  DeleteBloodhoundData: {
    weight: 0.03,
    rows: "pair",
    failureRate: 0,
    fields: () => ({ deleteCollectedGraphData: true, deleteFileIngestHistory: false }),
  },
  MutateGraph: {
    weight: 1.5,
    rows: "pair",
    failureRate: 0.1,
    fields: ({ rng }) => ({
      query: rng.pick([
        "MATCH (n:User {name:'SVC_SQL@CORP.LOCAL'}) SET n.owned = true",
        "MATCH (n) WHERE n.objectid = 'S-1-5-21-1004' SET n.hvt = true",
      ]),
    }),
  },
  UpdateParameter: {
    weight: 0.3,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({
      key: rng.pick(["auth.password_expiration_window", "analysis.citrix_rdp_support", "neo4j.configuration"]),
    }),
  },
  ToggleEarlyAccessFeatureFlag: {
    weight: 0.1,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({ id: rng.int(1, 12), enabled: rng.chance(0.5) }),
  },
  CreateClient: {
    weight: 0.3,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({ id: rng.uuid(), name: `sharphound-${rng.int(1, 9)}`, type: "sharphound" }),
  },
  ReplaceClientToken: {
    weight: 0.2,
    rows: "pair",
    failureRate: 0,
    fields: ({ rng }) => ({ id: rng.uuid(), name: `sharphound-${rng.int(1, 9)}` }),
  },
  ImportSavedQueries: { weight: 0.2, rows: "pair", failureRate: 0.1, fields: ({ rng }) => ({ count: rng.int(1, 25) }) },
  ExportSavedQuery: { weight: 0.3, rows: "pair", failureRate: 0, fields: ({ rng }) => ({ id: rng.int(1, 80) }) },
  CreateSupportUserSessionAttempt: {
    weight: 0.05,
    rows: "pair",
    failureRate: 0.2,
    fields: () => ({ reason: "support ticket 4411" }),
  },
};

const ACTION_LIST = Object.entries(BLOODHOUND_ACTIONS).map(([action, spec]) => ({ action, ...spec }));
const FAILURE_ERRORS = [
  "unique constraint was violated",
  "resource not found",
  "an internal error has occurred that is preventing the service from servicing this request",
];
const GUESSED_USERNAMES = ["admin", "administrator", "bloodhound", "root", "test"];
const ROLE_SETS = [["Administrator"], ["Power User"], ["User"], ["Read-Only"], ["Upload-Only"]];

type Row = Omit<BloodHoundAuditLog, "id">;

function createBloodHoundRecordFactory(context: { seed: number }): RecordFactory<BloodHoundAuditLog> {
  const rng = new SeededRandom(context.seed);
  const users: BloodHoundUser[] = createPeople(rng, 8, "corp.example").map((p) => ({
    ...p,
    id: rng.uuid(),
    principalName: p.handle,
    roles: p.admin ? ["Administrator"] : rng.pick(ROLE_SETS),
  }));
  const admins = users.filter((u) => u.roles.includes("Administrator"));
  const proxies = [randomPrivateIp(rng), randomPrivateIp(rng)];
  let nextId = rng.int(1_000, 3_000);

  // Behind a proxy the row holds "X-Forwarded-For,RemoteAddr"; direct clients give "ip:port".
  const sourceAddress = (user: BloodHoundUser) => {
    const port = rng.int(32_768, 60_999);
    return rng.chance(0.6) ? `${ipFor(rng, user)},${rng.pick(proxies)}:${port}` : `${ipFor(rng, user)}:${port}`;
  };

  /**
   * An event's rows: `intent` at `timeUs`, its outcome a few milliseconds later (never after
   * `latestUs`); or a single row. `outcome` forces success or failure.
   */
  function eventRows(
    action: string,
    timeUs: number,
    latestUs: number,
    options: { single?: boolean; outcome?: "success" | "failure" } = {},
  ): Row[] {
    const spec = BLOODHOUND_ACTIONS[action] ?? { weight: 0, rows: "pair", failureRate: 0.05, fields: () => ({}) };
    const privileged =
      action !== "LoginAttempt" &&
      !action.startsWith("Export") &&
      action !== "MutateGraph" &&
      action !== "UnauthorizedAccessAttempt";
    const actor = privileged ? rng.pick(admins) : rng.pick(users);
    const failed = options.outcome === undefined ? rng.chance(spec.failureRate) : options.outcome === "failure";
    const fields = spec.fields({ rng, actor, users });
    const shared = { request_id: rng.uuid(), source_ip_address: sourceAddress(actor), commit_id: rng.uuid(), action };
    const who = { actor_id: actor.id, actor_name: actor.principalName, actor_email: actor.email };
    const nobody = { actor_id: "", actor_name: "", actor_email: "" };

    if (action === "LoginAttempt") {
      // The intent row is written before the user is looked up, so it has no actor; a failure
      // for an unknown user name has none either.
      const unknownUser = failed && rng.chance(0.5);
      const username = unknownUser ? rng.pick(GUESSED_USERNAMES) : actor.principalName;
      const outcome: Row = {
        ...shared,
        ...(unknownUser ? nobody : who),
        created_at: "",
        fields: failed ? { username, error: "invalid authentication" } : { username },
        status: failed ? "failure" : "success",
      };
      return pairOf(
        { ...shared, ...nobody, created_at: "", fields: { username }, status: "intent" },
        outcome,
        timeUs,
        latestUs,
      );
    }
    if (spec.rows === "single" || options.single) {
      return [
        { ...shared, ...who, created_at: formatInstant(timeUs, BLOODHOUND_PRECISION), fields, status: "failure" },
      ];
    }
    const outcome: Row = {
      ...shared,
      ...who,
      created_at: "",
      fields: failed ? { ...fields, error: rng.pick(FAILURE_ERRORS) } : fields,
      status: failed ? "failure" : "success",
    };
    return pairOf({ ...shared, ...who, created_at: "", fields, status: "intent" }, outcome, timeUs, latestUs);
  }

  function pairOf(intent: Row, outcome: Row, timeUs: number, latestUs: number): Row[] {
    const outcomeUs = Math.max(timeUs, Math.min(timeUs + rng.int(2, 60) * MICROS_PER_MS + rng.int(0, 999), latestUs));
    return [
      { ...intent, created_at: formatInstant(timeUs, BLOODHOUND_PRECISION) },
      { ...outcome, created_at: formatInstant(outcomeUs, BLOODHOUND_PRECISION) },
    ];
  }

  const withIds = (rows: Row[]): BloodHoundAuditLog[] => rows.map((row) => ({ id: nextId++, ...row }));

  return {
    generate(count, startUs, endUs) {
      const times = randomSortedTimes(rng, count, startUs, endUs, BLOODHOUND_PRECISION);
      const rows: Row[] = [];
      for (let i = 0; rows.length < count; ) {
        const timeUs = times[i] ?? endUs;
        const pick = rng.weighted(ACTION_LIST);
        const single = pick.rows === "single" || count - rows.length === 1;
        rows.push(...eventRows(single ? "UnauthorizedAccessAttempt" : pick.action, timeUs, endUs, { single }));
        i += single ? 1 : 2;
      }
      // Outcome rows can land after the next event's intent; the database serial follows time.
      const ordered = rows
        .map((row, index) => ({ row, index, us: parseRfc3339Us(row.created_at) ?? 0 }))
        .sort((a, b) => a.us - b.us || a.index - b.index)
        .map(({ row }) => row);
      return withIds(ordered);
    },
    fromDraft(draft, timeUs) {
      const action = typeof draft.action === "string" ? draft.action : rng.weighted(ACTION_LIST).action;
      const asSingleRow =
        draft.status === "intent" ||
        typeof draft.commit_id === "string" ||
        BLOODHOUND_ACTIONS[action]?.rows === "single";
      if (asSingleRow) {
        const [row] = eventRows(action, timeUs, timeUs, { single: true });
        if (!row) throw new Error(`BloodHound: no row for action ${action}`);
        return withIds([
          mergeDraft(
            { ...row, ...actorForDraft(action, draft), status: draft.status === "intent" ? "intent" : "failure" },
            draft,
          ),
        ]);
      }
      // The draft is the outcome; its intent row comes just before it, with the same commit_id.
      const outcomeStatus = draft.status === "success" || draft.status === "failure" ? draft.status : undefined;
      const [intent, outcome] = eventRows(action, timeUs - 5 * MICROS_PER_MS, timeUs, { outcome: outcomeStatus });
      if (!intent || !outcome) throw new Error(`BloodHound: no rows for action ${action}`);
      const outcomeRow = mergeDraft(
        { ...outcome, ...actorForDraft(action, draft), created_at: formatInstant(timeUs, BLOODHOUND_PRECISION) },
        draft,
      );
      const shared = {
        request_id: outcomeRow.request_id,
        commit_id: outcomeRow.commit_id,
        source_ip_address: outcomeRow.source_ip_address,
      };
      const { error: _error, ...intentFields } = outcomeRow.fields;
      const intentActor =
        action === "LoginAttempt"
          ? {}
          : { actor_id: outcomeRow.actor_id, actor_name: outcomeRow.actor_name, actor_email: outcomeRow.actor_email };
      return withIds([{ ...intent, ...shared, ...intentActor, action, fields: intentFields }, outcomeRow]);
    },
  };

  /** A login draft naming a user name gets that user as actor, or no actor when no such user exists. */
  function actorForDraft(action: string, draft: Record<string, unknown>): Partial<Row> {
    const username = (draft.fields as { username?: unknown } | undefined)?.username;
    if (action !== "LoginAttempt" || typeof username !== "string") return {};
    const user = users.find((u) => u.principalName === username);
    return user
      ? { actor_id: user.id, actor_name: user.principalName, actor_email: user.email }
      : { actor_id: "", actor_name: "", actor_email: "" };
  }
}

export const bloodhoundRecordKit: RecordKit<"bloodhound"> = {
  precision: BLOODHOUND_PRECISION,
  schema: BloodHoundAuditLogSchema,
  timeOf: (record) => parseRfc3339Us(record.created_at) ?? 0,
  withTime: (record, timeUs) => ({ ...record, created_at: formatInstant(timeUs, BLOODHOUND_PRECISION) }),
  idOf: (record) => String(record.id),
  draftTimeUs: (draft) => draftTime(draft, "created_at"),
  toListed: (record) => record,
  createFactory: ({ seed }) => createBloodHoundRecordFactory({ seed }),
};
