import { describe, expect, it } from "vitest";
import { ATTACK_RELEASE, ATTACK_RETIRED, ATTACK_TACTICS, ATTACK_TECHNIQUES, attackTagProblem } from "./attack.js";
import { AttackTacticSchema, extractAttack } from "./attack-extract.js";

// STIX objects shaped as MITRE publishes them (mitre/cti, attack-stix-data), cut to the fields read.
const ref = (id: string) => [
  { source_name: "mitre-attack", external_id: id, url: `https://attack.mitre.org/${id}` },
  { source_name: "some paper", description: "not an ATT&CK id" },
];
const tactic = (n: number, shortname: string, name: string, id: string) => ({
  type: "x-mitre-tactic",
  id: `x-mitre-tactic--${n}`,
  name,
  x_mitre_shortname: shortname,
  x_mitre_domains: ["enterprise-attack"],
  external_references: ref(id),
});
const pattern = (id: string, name: string, phases: string[], extra: Record<string, unknown> = {}) => ({
  type: "attack-pattern",
  id: `attack-pattern--${id}`,
  name,
  x_mitre_domains: ["enterprise-attack"],
  external_references: ref(id),
  kill_chain_phases: phases.map((phase_name) => ({ kill_chain_name: "mitre-attack", phase_name })),
  ...extra,
});
const objects = [
  {
    type: "x-mitre-matrix",
    id: "x-mitre-matrix--1",
    name: "Enterprise ATT&CK",
    external_references: ref("enterprise-attack"),
    tactic_refs: ["x-mitre-tactic--2", "x-mitre-tactic--1"],
  },
  tactic(1, "persistence", "Persistence", "TA0003"),
  tactic(2, "initial-access", "Initial Access", "TA0001"),
  { ...tactic(3, "collection", "Collection", "TA0035"), x_mitre_domains: ["mobile-attack"] },
  pattern("T1078", "Valid Accounts", ["persistence", "initial-access"]),
  pattern("T1078.004", "Cloud Accounts", ["initial-access", "persistence"], { x_mitre_is_subtechnique: true }),
  pattern("T1500", "Compile After Delivery", ["persistence"], { revoked: true }),
  pattern("T1501", "Old Thing", ["persistence"], { x_mitre_deprecated: true }),
  pattern("T1400", "Mobile Only", ["collection"], { x_mitre_domains: ["mobile-attack"] }),
  { type: "relationship", id: "relationship--1", source_ref: "a", target_ref: "b" },
];

describe("extractAttack", () => {
  it("keeps the Enterprise matrix's tactics in order, names sub-techniques after their parent, and lists retired ids", () => {
    const data = extractAttack(objects, "18.1", "test");
    expect(Object.entries(data.tactics)).toEqual([
      ["initial-access", { id: "TA0001", name: "Initial Access" }],
      ["persistence", { id: "TA0003", name: "Persistence" }],
    ]);
    expect(data.techniques).toEqual({
      T1078: { name: "Valid Accounts", tactics: ["initial-access", "persistence"] },
      "T1078.004": { name: "Valid Accounts: Cloud Accounts", tactics: ["initial-access", "persistence"] },
    });
    expect(data.retired).toEqual({ T1500: "revoked", T1501: "deprecated" });
  });

  it("refuses data without the Enterprise matrix, a sub-technique without its parent, or an object that is no STIX object", () => {
    expect(() => extractAttack(objects.slice(1), "18.1", "test")).toThrow(/no Enterprise ATT&CK matrix/);
    expect(() =>
      extractAttack([objects[0], ...objects.slice(1).filter((o) => o.id !== "attack-pattern--T1078")], "18.1", "t"),
    ).toThrow(/sub-technique T1078.004 has no parent/);
    expect(() => extractAttack([...objects, { name: "x" }], "18.1", "test")).toThrow(/STIX object 10/);
  });
});

describe("the shipped ATT&CK table", () => {
  it("is a whole ATT&CK Enterprise release: its 14 tactics, hundreds of techniques, parents before sub-techniques", () => {
    expect(ATTACK_RELEASE).toMatch(/^\d+\.\d+$/);
    expect(Object.keys(ATTACK_TACTICS).sort()).toEqual([...AttackTacticSchema.options].sort());
    expect(Object.keys(ATTACK_TECHNIQUES).length).toBeGreaterThan(500);
    for (const [id, technique] of Object.entries(ATTACK_TECHNIQUES)) {
      expect(ATTACK_RETIRED[id], id).toBeUndefined();
      if (!id.includes(".")) continue;
      const parent = ATTACK_TECHNIQUES[id.split(".")[0]!];
      expect(parent, id).toBeDefined();
      expect(technique.name.startsWith(`${parent!.name}: `), id).toBe(true);
      expect([...technique.tactics].sort(), id).toEqual([...parent!.tactics].sort());
    }
  });

  it("says why a tag is refused: no such tactic, no such technique, or one ATT&CK retired", () => {
    expect(attackTagProblem("attack.persistence")).toBeUndefined();
    expect(attackTagProblem("T1098.001")).toBeUndefined();
    expect(attackTagProblem("pii")).toBeUndefined();
    expect(attackTagProblem("attack.persistance")).toMatch(/attack.persistance is not an ATT&CK Enterprise tactic/);
    expect(attackTagProblem("T1098.999")).toBe(`T1098.999 is no technique of ATT&CK Enterprise ${ATTACK_RELEASE}`);
    const [revoked] = Object.entries(ATTACK_RETIRED).find(([, why]) => why === "revoked")!;
    expect(attackTagProblem(revoked)).toBe(`${revoked} is revoked in ATT&CK Enterprise ${ATTACK_RELEASE}`);
  });
});
