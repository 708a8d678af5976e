/**
 * `pnpm schemas`: writes the JSON Schemas generated from the zod schemas — schema/rule.schema.json,
 * schema/config.schema.json and the `config` value of the Helm chart's values.schema.json. Run it
 * after changing a schema, a source type or a channel type; a test fails while a copy is stale.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ruleJsonSchema } from "@vigil/engine";
import { chartConfigJsonSchema, configJsonSchema } from "./config-schema.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

const files = ["schema/rule.schema.json", "schema/config.schema.json", "deploy/helm/vigil/values.schema.json"];
writeFileSync(join(root, files[0]!), json(ruleJsonSchema()));
writeFileSync(join(root, files[1]!), json(configJsonSchema()));
const valuesFile = join(root, files[2]!);
const values = JSON.parse(readFileSync(valuesFile, "utf8")) as { properties: Record<string, unknown> };
values.properties.config = chartConfigJsonSchema();
writeFileSync(valuesFile, json(values));
// Laid out as the repository's formatter keeps JSON.
execFileSync(join(root, "node_modules/.bin/biome"), ["format", "--write", ...files], { cwd: root, stdio: "ignore" });
console.log(`wrote ${files.join(", ")}`);
