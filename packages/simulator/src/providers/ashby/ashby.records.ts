import { z } from "zod";
import type { RecordFactory, RecordKit } from "../provider.types.js";
import { mergeDraft } from "../shared/draft-merge.js";
import { formatInstant, parseRfc3339Us, type InstantPrecision } from "../shared/instant.js";
import { createPeople } from "../shared/people.js";
import { Rfc3339StringSchema, draftTime } from "../shared/schema-helpers.js";
import { SeededRandom } from "@vigil/core";
import { randomSortedTimes } from "../shared/timeline.js";

// Documented entry fields: actor.type/id/name, target.type, category. The entry id, the
// timestamp name (`createdAt`) and target id/name are UNCONFIRMED guesses in Ashby's camelCase.
export const AshbyAuditLogEntrySchema = z.object({
  id: z.string().min(1),
  createdAt: Rfc3339StringSchema,
  category: z.string().min(1),
  actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
  target: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable() }),
});
export type AshbyAuditLogEntry = z.infer<typeof AshbyAuditLogEntrySchema>;

const ASHBY_PRECISION: InstantPrecision = "ms";

export const ASHBY_ACTOR_TYPES = [
  "User",
  "ApiUser",
  "Automation",
  "Support",
  "Other",
  "Candidate",
  "Operations",
  "System",
] as const;
type AshbyActorType = (typeof ASHBY_ACTOR_TYPES)[number];

interface CategorySpec {
  targetType: string;
  weight: number;
  /** Who plausibly causes it, weighted. */
  actors: readonly { type: AshbyActorType; weight: number }[];
}

const BY_USER = [{ type: "User", weight: 1 }] as const;

/**
 * The filterable vocabulary: each category belongs to exactly one target type. `job`,
 * `app_user` and `JobStatusChanged` are documented; the full table was not retrievable, so
 * the other names are UNCONFIRMED but follow the documented naming.
 */
export const ASHBY_CATEGORIES: Readonly<Record<string, CategorySpec>> = {
  JobCreated: { targetType: "job", weight: 3, actors: BY_USER },
  JobUpdated: {
    targetType: "job",
    weight: 8,
    actors: [
      { type: "User", weight: 8 },
      { type: "ApiUser", weight: 1 },
      { type: "Support", weight: 0.3 },
    ],
  },
  JobStatusChanged: {
    targetType: "job",
    weight: 4,
    actors: [
      { type: "User", weight: 6 },
      { type: "System", weight: 1 },
    ],
  },
  JobPostingPublished: { targetType: "job_posting", weight: 2, actors: BY_USER },
  JobPostingUnpublished: { targetType: "job_posting", weight: 1, actors: BY_USER },
  ApplicationCreated: {
    targetType: "application",
    weight: 14,
    actors: [
      { type: "Candidate", weight: 5 },
      { type: "User", weight: 3 },
      { type: "ApiUser", weight: 2 },
    ],
  },
  ApplicationStageChanged: {
    targetType: "application",
    weight: 20,
    actors: [
      { type: "User", weight: 8 },
      { type: "Automation", weight: 2 },
      { type: "ApiUser", weight: 1 },
    ],
  },
  ApplicationArchived: {
    targetType: "application",
    weight: 6,
    actors: [
      { type: "User", weight: 4 },
      { type: "Automation", weight: 2 },
      { type: "System", weight: 0.5 },
    ],
  },
  CandidateCreated: {
    targetType: "candidate",
    weight: 8,
    actors: [
      { type: "User", weight: 3 },
      { type: "ApiUser", weight: 2 },
    ],
  },
  CandidateUpdated: {
    targetType: "candidate",
    weight: 10,
    actors: [
      { type: "User", weight: 5 },
      { type: "Candidate", weight: 2 },
      { type: "Other", weight: 0.3 },
    ],
  },
  CandidateMerged: { targetType: "candidate", weight: 1, actors: BY_USER },
  CandidateDeleted: { targetType: "candidate", weight: 0.5, actors: BY_USER },
  OfferCreated: { targetType: "offer", weight: 1.5, actors: BY_USER },
  OfferApproved: { targetType: "offer", weight: 1, actors: BY_USER },
  AppUserInvited: {
    targetType: "app_user",
    weight: 1,
    actors: [
      { type: "User", weight: 5 },
      { type: "Support", weight: 0.3 },
    ],
  },
  AppUserDeactivated: { targetType: "app_user", weight: 0.5, actors: BY_USER },
  AppUserReactivated: {
    targetType: "app_user",
    weight: 0.2,
    actors: [
      { type: "User", weight: 3 },
      { type: "Operations", weight: 0.5 },
    ],
  },
  AppUserPermissionsChanged: {
    targetType: "app_user",
    weight: 0.6,
    actors: [
      { type: "User", weight: 5 },
      { type: "Support", weight: 0.5 },
    ],
  },
  AppUserSignedIn: { targetType: "app_user", weight: 12, actors: BY_USER },
  ApiKeyCreated: { targetType: "api_key", weight: 0.4, actors: BY_USER },
  ApiKeyRevoked: { targetType: "api_key", weight: 0.3, actors: BY_USER },
  ReportExported: { targetType: "report", weight: 1, actors: BY_USER },
};

export const ASHBY_TARGET_TYPES: readonly string[] = [
  ...new Set(Object.values(ASHBY_CATEGORIES).map((c) => c.targetType)),
];

const CATEGORY_LIST = Object.entries(ASHBY_CATEGORIES).map(([category, spec]) => ({ category, ...spec }));
const JOB_TITLES = [
  "Senior Backend Engineer",
  "Product Designer",
  "Account Executive, EMEA",
  "Data Scientist",
  "Head of Security",
  "Recruiting Coordinator",
];
const REPORTS = ["Pipeline by source", "Offer acceptance rate", "Time to hire by department", "EEO summary"];
const API_KEYS = ["HRIS sync", "BI warehouse export", "Greenhouse migration"];
const AUTOMATIONS = ["Auto-archive after 30 days", "Move to phone screen on referral", "Reject on knockout question"];

function createAshbyRecordFactory(context: { seed: number }): RecordFactory<AshbyAuditLogEntry> {
  const rng = new SeededRandom(context.seed);
  const users = createPeople(rng, 10, "acme-talent.example").map((p) => ({ ...p, id: rng.uuid() }));
  const candidates = createPeople(rng, 30, "mail.example").map((p) => ({ ...p, id: rng.uuid() }));
  const jobs = JOB_TITLES.map((title) => ({ title, id: rng.uuid() }));
  const apiUsers = API_KEYS.map((name) => ({ name, id: rng.uuid() }));
  const automations = AUTOMATIONS.map((name) => ({ name, id: rng.uuid() }));

  function actorOf(type: AshbyActorType): AshbyAuditLogEntry["actor"] {
    switch (type) {
      case "User": {
        const user = rng.pick(users);
        return { type, id: user.id, name: user.fullName };
      }
      case "ApiUser": {
        // The id is the API key's backing service account.
        const key = rng.pick(apiUsers);
        return { type, id: key.id, name: key.name };
      }
      case "Automation": {
        const automation = rng.pick(automations);
        return rng.chance(0.3)
          ? { type, id: null, name: automation.name }
          : { type, id: automation.id, name: automation.name };
      }
      case "Candidate":
        // The candidate portal: Ashby never returns the candidate's name here.
        return { type, id: rng.pick(candidates).id, name: null };
      case "Support":
        return { type, id: rng.uuid(), name: "Ashby Support" };
      case "Operations":
        return { type, id: rng.uuid(), name: "Ashby Operations" };
      case "System":
      case "Other":
        return { type, id: null, name: null };
    }
  }

  function targetOf(targetType: string): AshbyAuditLogEntry["target"] {
    switch (targetType) {
      case "job":
      case "job_posting": {
        const job = rng.pick(jobs);
        return { type: targetType, id: job.id, name: job.title };
      }
      case "application": {
        const candidate = rng.pick(candidates);
        return { type: targetType, id: rng.uuid(), name: `${candidate.fullName} – ${rng.pick(jobs).title}` };
      }
      case "candidate": {
        const candidate = rng.pick(candidates);
        return { type: targetType, id: candidate.id, name: candidate.fullName };
      }
      case "app_user": {
        const user = rng.pick(users);
        return { type: targetType, id: user.id, name: user.fullName };
      }
      case "api_key": {
        const key = rng.pick(apiUsers);
        return { type: targetType, id: key.id, name: key.name };
      }
      case "report":
        return { type: targetType, id: rng.uuid(), name: rng.pick(REPORTS) };
      default:
        return { type: targetType, id: rng.uuid(), name: null };
    }
  }

  function build(category: string, spec: CategorySpec, timeUs: number): AshbyAuditLogEntry {
    const actor = actorOf(rng.weighted(spec.actors).type);
    // Signing in acts on oneself.
    const target =
      category === "AppUserSignedIn" && actor.id !== null
        ? { type: "app_user", id: actor.id, name: actor.name }
        : targetOf(spec.targetType);
    return { id: rng.uuid(), createdAt: formatInstant(timeUs, ASHBY_PRECISION), category, actor, target };
  }

  return {
    generate(count, startUs, endUs) {
      return randomSortedTimes(rng, count, startUs, endUs, ASHBY_PRECISION).map((timeUs) => {
        const pick = rng.weighted(CATEGORY_LIST);
        return build(pick.category, pick, timeUs);
      });
    },
    fromDraft(draft, timeUs) {
      const pick = CATEGORY_LIST.find((c) => c.category === draft.category) ?? rng.weighted(CATEGORY_LIST);
      const generated = build(pick.category, pick, timeUs);
      const draftActorType = (draft.actor as { type?: unknown } | undefined)?.type;
      const knownType = ASHBY_ACTOR_TYPES.find((type) => type === draftActorType);
      // A draft choosing an actor type gets an actor of that type to fill in the rest.
      const actor = knownType ? actorOf(knownType) : generated.actor;
      return [mergeDraft({ ...generated, actor }, draft)];
    },
  };
}

export const ashbyRecordKit: RecordKit<"ashby"> = {
  precision: ASHBY_PRECISION,
  schema: AshbyAuditLogEntrySchema,
  timeOf: (record) => parseRfc3339Us(record.createdAt) ?? 0,
  withTime: (record, timeUs) => ({ ...record, createdAt: formatInstant(timeUs, ASHBY_PRECISION) }),
  idOf: (record) => record.id,
  draftTimeUs: (draft) => draftTime(draft, "createdAt"),
  toListed: (record) => record,
  createFactory: ({ seed }) => createAshbyRecordFactory({ seed }),
};
