// MITRE ATT&CK (Enterprise) tactics, and the techniques Vigil's shipped rules use, with their names
// and tactics as ATT&CK publishes them (attack.mitre.org). Rules tag a tactic as `attack.<tactic>`
// and a technique by its id (`T1098.001`); attack.test.ts checks the shipped rules against this table.

/** ATT&CK's Enterprise tactics: the tag's slug, ATT&CK's id and name. */
export const ATTACK_TACTICS = {
  reconnaissance: { id: "TA0043", name: "Reconnaissance" },
  "resource-development": { id: "TA0042", name: "Resource Development" },
  "initial-access": { id: "TA0001", name: "Initial Access" },
  execution: { id: "TA0002", name: "Execution" },
  persistence: { id: "TA0003", name: "Persistence" },
  "privilege-escalation": { id: "TA0004", name: "Privilege Escalation" },
  "defense-evasion": { id: "TA0005", name: "Defense Evasion" },
  "credential-access": { id: "TA0006", name: "Credential Access" },
  discovery: { id: "TA0007", name: "Discovery" },
  "lateral-movement": { id: "TA0008", name: "Lateral Movement" },
  collection: { id: "TA0009", name: "Collection" },
  "command-and-control": { id: "TA0011", name: "Command and Control" },
  exfiltration: { id: "TA0010", name: "Exfiltration" },
  impact: { id: "TA0040", name: "Impact" },
} as const;
export type AttackTactic = keyof typeof ATTACK_TACTICS;

const VALID: AttackTactic[] = ["defense-evasion", "persistence", "privilege-escalation", "initial-access"];

/** Techniques and sub-techniques by id: name and the tactics ATT&CK files them under. */
export const ATTACK_TECHNIQUES: Readonly<Record<string, { name: string; tactics: readonly AttackTactic[] }>> = {
  T1078: { name: "Valid Accounts", tactics: VALID },
  "T1078.004": { name: "Valid Accounts: Cloud Accounts", tactics: VALID },
  T1098: { name: "Account Manipulation", tactics: ["persistence", "privilege-escalation"] },
  "T1098.001": {
    name: "Account Manipulation: Additional Cloud Credentials",
    tactics: ["persistence", "privilege-escalation"],
  },
  "T1098.003": {
    name: "Account Manipulation: Additional Cloud Roles",
    tactics: ["persistence", "privilege-escalation"],
  },
  T1110: { name: "Brute Force", tactics: ["credential-access"] },
  "T1110.001": { name: "Brute Force: Password Guessing", tactics: ["credential-access"] },
  "T1110.003": { name: "Brute Force: Password Spraying", tactics: ["credential-access"] },
  T1136: { name: "Create Account", tactics: ["persistence"] },
  "T1136.003": { name: "Create Account: Cloud Account", tactics: ["persistence"] },
  T1199: { name: "Trusted Relationship", tactics: ["initial-access"] },
  T1213: { name: "Data from Information Repositories", tactics: ["collection"] },
  T1485: { name: "Data Destruction", tactics: ["impact"] },
  T1526: { name: "Cloud Service Discovery", tactics: ["discovery"] },
  T1528: { name: "Steal Application Access Token", tactics: ["credential-access"] },
  T1530: { name: "Data from Cloud Storage", tactics: ["collection"] },
  T1531: { name: "Account Access Removal", tactics: ["impact"] },
  T1556: { name: "Modify Authentication Process", tactics: ["credential-access", "defense-evasion", "persistence"] },
  "T1556.007": {
    name: "Modify Authentication Process: Hybrid Identity",
    tactics: ["credential-access", "defense-evasion", "persistence"],
  },
  T1562: { name: "Impair Defenses", tactics: ["defense-evasion"] },
  "T1562.008": { name: "Impair Defenses: Disable or Modify Cloud Logs", tactics: ["defense-evasion"] },
  T1567: { name: "Exfiltration Over Web Service", tactics: ["exfiltration"] },
};

const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;

/** A rule's ATT&CK tags: tactics (`attack.<slug>`), technique ids, and tags that look like either but are unknown. */
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
