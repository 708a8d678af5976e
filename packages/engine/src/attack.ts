import data from "./attack-enterprise.json" with { type: "json" };
import { type AttackTactic, AttackDataSchema } from "./attack-extract.js";
import { nearest } from "./rule-fields.js";

// MITRE ATT&CK (Enterprise), pinned to one release: its tactics, its active techniques with their
// names and tactics, and the ids it has revoked or deprecated. `attack-enterprise.json` is generated
// from MITRE's STIX data by `pnpm attack:data` (scripts/attack-data.ts) and checked on load.
// Rules tag a tactic as `attack.<tactic>` and a technique by its id (`T1098.001`).

export type { AttackTactic } from "./attack-extract.js";

const ATTACK = AttackDataSchema.parse(data);

/** The ATT&CK release the table was generated from (`18.1`). */
export const ATTACK_RELEASE = ATTACK.release;

/** ATT&CK's Enterprise tactics in matrix order: the tag's slug, ATT&CK's id and name. */
export const ATTACK_TACTICS = ATTACK.tactics as Readonly<Record<AttackTactic, { id: string; name: string }>>;

/** Active techniques and sub-techniques by id: name ("Parent: Sub" for a sub-technique) and tactics. */
export const ATTACK_TECHNIQUES: Readonly<Record<string, { name: string; tactics: readonly AttackTactic[] }>> =
  ATTACK.techniques;

/** Technique ids ATT&CK has revoked or deprecated: a rule tagging one is told so. */
export const ATTACK_RETIRED: Readonly<Record<string, "revoked" | "deprecated">> = ATTACK.retired;

const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

/** A rule's ATT&CK tags: tactics (`attack.<slug>`), technique ids, and tags that look like either but are unknown or retired. */
export function attackTags(tags: readonly string[]): { tactics: string[]; techniques: string[]; unknown: string[] } {
  const tactics: string[] = [];
  const techniques: string[] = [];
  const unknown: string[] = [];
  for (const tag of tags) {
    if (tag.startsWith("attack.")) {
      const slug = tag.slice("attack.".length);
      (slug in ATTACK_TACTICS ? tactics : unknown).push(slug in ATTACK_TACTICS ? slug : tag);
    } else if (TECHNIQUE_ID.test(tag)) {
      (tag in ATTACK_TECHNIQUES ? techniques : unknown).push(tag);
    }
  }
  return { tactics, techniques, unknown };
}

/** Why a tag that looks like an ATT&CK one is not accepted (undefined when it is, or is no ATT&CK tag). */
export function attackTagProblem(tag: string): string | undefined {
  if (tag.startsWith("attack.")) {
    if (tag.slice("attack.".length) in ATTACK_TACTICS) return undefined;
    const near = nearest(
      tag,
      Object.keys(ATTACK_TACTICS).map((t) => `attack.${t}`),
    );
    return `${tag} is not an ATT&CK Enterprise tactic${near.length ? ` (did you mean ${near[0]}?)` : ""}`;
  }
  if (!TECHNIQUE_ID.test(tag) || tag in ATTACK_TECHNIQUES) return undefined;
  const retired = ATTACK_RETIRED[tag];
  return retired
    ? `${tag} is ${retired} in ATT&CK Enterprise ${ATTACK_RELEASE}`
    : `${tag} is no technique of ATT&CK Enterprise ${ATTACK_RELEASE}`;
}
