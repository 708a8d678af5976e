import { z } from "zod";

// Turns MITRE's ATT&CK Enterprise STIX objects into the compact table Vigil ships
// (`attack-enterprise.json`): tactics in matrix order, active techniques with their display names
// and tactics, and the ids ATT&CK has revoked or deprecated. `pnpm attack:data` runs it.

/** ATT&CK's Enterprise tactics by their STIX shortname (the slug rules tag as `attack.<slug>`). */
export const AttackTacticSchema = z.enum([
  "reconnaissance",
  "resource-development",
  "initial-access",
  "execution",
  "persistence",
  "privilege-escalation",
  "defense-evasion",
  "credential-access",
  "discovery",
  "lateral-movement",
  "collection",
  "command-and-control",
  "exfiltration",
  "impact",
]);
export type AttackTactic = z.infer<typeof AttackTacticSchema>;

/** The shipped table: what `attack-enterprise.json` holds. */
export const AttackDataSchema = z.strictObject({
  release: z.string().regex(/^\d+\.\d+$/),
  source: z.string(),
  tactics: z.partialRecord(AttackTacticSchema, z.strictObject({ id: z.string().regex(/^TA\d{4}$/), name: z.string() })),
  techniques: z.record(
    z.string().regex(/^T\d{4}(\.\d{3})?$/),
    z.strictObject({ name: z.string(), tactics: z.array(AttackTacticSchema).min(1) }),
  ),
  retired: z.record(z.string().regex(/^T\d{4}(\.\d{3})?$/), z.enum(["revoked", "deprecated"])),
});
export type AttackData = z.infer<typeof AttackDataSchema>;

const ExternalReference = z.object({ source_name: z.string(), external_id: z.string().optional() });
const StixObject = z.looseObject({
  type: z.string(),
  id: z.string(),
  name: z.string().optional(),
  revoked: z.boolean().optional(),
  x_mitre_deprecated: z.boolean().optional(),
  x_mitre_domains: z.array(z.string()).optional(),
  x_mitre_shortname: z.string().optional(),
  external_references: z.array(ExternalReference).optional(),
  kill_chain_phases: z.array(z.object({ kill_chain_name: z.string(), phase_name: z.string() })).optional(),
  tactic_refs: z.array(z.string()).optional(),
});
type StixObject = z.infer<typeof StixObject>;

const attackId = (o: StixObject) =>
  o.external_references?.find((r) => r.source_name === "mitre-attack" && r.external_id)?.external_id;

/**
 * The table for one ATT&CK release from its STIX objects (a bundle's `objects`, or the objects of
 * every file of a `mitre/cti` checkout's `enterprise-attack/` folder). Objects of other domains are skipped.
 */
export function extractAttack(objects: readonly unknown[], release: string, source: string): AttackData {
  const parsed = objects.map((o, i) => {
    const result = StixObject.safeParse(o);
    if (!result.success) throw new Error(`STIX object ${i}: ${result.error.issues[0]?.message ?? "invalid"}`);
    return result.data;
  });
  const enterprise = parsed.filter((o) => !o.x_mitre_domains || o.x_mitre_domains.includes("enterprise-attack"));
  const tacticObjects = new Map(enterprise.filter((o) => o.type === "x-mitre-tactic").map((o) => [o.id, o]));
  const matrix = enterprise.find((o) => o.type === "x-mitre-matrix" && attackId(o) === "enterprise-attack");
  if (!matrix?.tactic_refs)
    throw new Error("no Enterprise ATT&CK matrix (x-mitre-matrix enterprise-attack) in the data");
  const tactics: AttackData["tactics"] = {};
  for (const ref of matrix.tactic_refs) {
    const tactic = tacticObjects.get(ref);
    const id = tactic && attackId(tactic);
    if (!tactic || !id || !tactic.name) throw new Error(`the matrix names tactic ${ref}, which the data lacks`);
    tactics[AttackTacticSchema.parse(tactic.x_mitre_shortname)] = { id, name: tactic.name };
  }
  const patterns = enterprise.filter((o) => o.type === "attack-pattern" && attackId(o));
  const names = new Map(patterns.filter((o) => !o.revoked).map((o) => [attackId(o)!, o.name ?? ""]));
  const techniques: AttackData["techniques"] = {};
  const retired: AttackData["retired"] = {};
  for (const o of patterns) {
    const id = attackId(o)!;
    if (o.revoked || o.x_mitre_deprecated) {
      retired[id] = o.revoked ? "revoked" : "deprecated";
      continue;
    }
    const parent = id.includes(".") ? names.get(id.split(".")[0]!) : undefined;
    if (id.includes(".") && parent === undefined) throw new Error(`sub-technique ${id} has no parent technique`);
    const phases = (o.kill_chain_phases ?? []).filter((p) => p.kill_chain_name === "mitre-attack");
    techniques[id] = {
      name: parent === undefined ? (o.name ?? "") : `${parent}: ${o.name ?? ""}`,
      tactics: Object.keys(tactics).filter((t) => phases.some((p) => p.phase_name === t)) as AttackTactic[],
    };
  }
  const sorted = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return AttackDataSchema.parse({
    release,
    source,
    tactics,
    techniques: sorted(techniques),
    retired: sorted(retired),
  });
}
