import { readFileSync } from "node:fs";
import { RULE_KINDS } from "../kinds/registry.js";
import { composeLua } from "./lua-compose.js";

const MAIN = new URL("./rule-state.lua", import.meta.url);

/** The one rule-state script: its main loop with the handler of every registered kind included. */
export function ruleStateScript(): string {
  const includes = Object.values(RULE_KINDS)
    .map((kind) => `--- @include "${kind.lua.href}"`)
    .join("\n");
  const main = readFileSync(MAIN, "utf8").replace(/^--- @kinds[ \t]*$/m, () => includes);
  return composeLua(main, MAIN);
}
