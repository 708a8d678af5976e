import { readFileSync } from "node:fs";

const INCLUDE = /^--- @include "([^"]+)"[ \t]*$/gm;

/**
 * Replaces each `--- @include "relative/path.lua"` line of a Lua text with that file (resolved
 * against `base`, recursively, each file at most once), the way BullMQ composes its scripts
 * from shared includes.
 */
export function composeLua(text: string, base: URL, included = new Set<string>([base.href])): string {
  return text.replace(INCLUDE, (_line, path: string) => {
    const target = new URL(path, base);
    const name = target.pathname.split("/").slice(-2).join("/");
    if (included.has(target.href)) return `-- (${name} already included)`;
    included.add(target.href);
    const body = composeLua(readFileSync(target, "utf8"), target, included);
    return `-- begin ${name}\n${body.trimEnd()}\n-- end ${name}`;
  });
}
