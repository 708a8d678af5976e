// Regenerates packages/engine/src/attack-enterprise.json from MITRE's ATT&CK Enterprise STIX data:
//   pnpm attack:data <release> <enterprise-attack.json | a mitre/cti checkout's enterprise-attack/ folder>
// e.g. `pnpm attack:data 18.1 ~/cti/enterprise-attack`. Then run `pnpm vigil rules docs --out docs/rules.md`.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { extractAttack } from "../packages/engine/src/attack-extract.js";

const [release, input] = process.argv.slice(2);
if (!release || !input) {
  console.error("usage: pnpm attack:data <release, e.g. 18.1> <enterprise-attack.json or enterprise-attack/ folder>");
  process.exit(2);
}
const files = (path: string): string[] =>
  statSync(path).isDirectory()
    ? readdirSync(path).flatMap((name) => files(join(path, name)))
    : path.endsWith(".json")
      ? [path]
      : [];
const objects = files(input).flatMap((file) => {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { objects?: unknown[] };
  return parsed.objects ?? [parsed];
});
const data = extractAttack(objects, release, `MITRE ATT&CK Enterprise v${release} (STIX)`);
const out = join(import.meta.dirname, "../packages/engine/src/attack-enterprise.json");
writeFileSync(out, `${JSON.stringify(data, null, 2)}\n`);
execFileSync(join(import.meta.dirname, "../node_modules/.bin/biome"), ["format", "--write", out], { stdio: "inherit" });
console.log(
  `${out}: ATT&CK ${release}, ${Object.keys(data.tactics).length} tactics, ${Object.keys(data.techniques).length} techniques, ${Object.keys(data.retired).length} retired`,
);
