import Mustache from "mustache";
import { AuditEventSchema } from "@vigil/core";

/**
 * The field names a rule may read, derived from the AuditEvent schema: every leaf path (`actor.email`),
 * and the objects whose contents are the provider's (`attributes`, `raw`), under which any path goes.
 */
export interface EventFieldNames {
  /** Every path of the event model, objects included (`actor`, `actor.email`). */
  readonly paths: readonly string[];
  /** Free-form objects: any path below them is valid (`attributes.`). */
  readonly freeForm: readonly string[];
}

interface ZodNode {
  def: { type: string; innerType?: ZodNode; shape?: Record<string, ZodNode> };
}

function unwrap(node: ZodNode): ZodNode {
  let current = node;
  while (
    current.def.innerType &&
    ["optional", "default", "nullable", "prefault", "readonly"].includes(current.def.type)
  )
    current = current.def.innerType;
  return current;
}

function walk(shape: Record<string, ZodNode>, prefix: string, out: { paths: string[]; freeForm: string[] }): void {
  for (const [key, child] of Object.entries(shape)) {
    const path = `${prefix}${key}`;
    const node = unwrap(child);
    out.paths.push(path);
    if (node.def.type === "object" && node.def.shape) walk(node.def.shape, `${path}.`, out);
    else if (node.def.type === "custom" || node.def.type === "record") out.freeForm.push(path);
  }
}

let cached: EventFieldNames | undefined;
/** The event model's field names (computed once from AuditEventSchema). */
export function eventFieldNames(): EventFieldNames {
  if (!cached) {
    const out = { paths: [] as string[], freeForm: [] as string[] };
    walk((AuditEventSchema as unknown as { def: { shape: Record<string, ZodNode> } }).def.shape, "", out);
    cached = out;
  }
  return cached;
}

/** The leaf paths an editor can offer (free-form objects themselves excluded). */
function offeredFieldPaths(): string[] {
  const { paths, freeForm } = eventFieldNames();
  return paths.filter((p) => !freeForm.includes(p) && !paths.some((other) => other.startsWith(`${p}.`)));
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The candidates nearest to `name` (at most `limit`, by default only within a distance that still reads as a typo). */
export function nearest(
  name: string,
  candidates: readonly string[],
  limit = 1,
  bound = Math.max(2, Math.floor(name.length / 3)),
): string[] {
  return candidates
    .map((candidate) => ({ candidate, distance: editDistance(name.toLowerCase(), candidate.toLowerCase()) }))
    .filter((c) => c.distance <= bound)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, limit)
    .map((c) => c.candidate);
}

/**
 * A set of valid names: exact paths, and prefixes (`attributes.`, `steps.`) under which any path
 * is valid. `check` returns undefined for a valid name, else the problem with a suggestion.
 */
export class FieldVocabulary {
  private readonly exact: Set<string>;
  constructor(
    exact: Iterable<string>,
    private readonly prefixes: readonly string[],
  ) {
    this.exact = new Set(exact);
  }

  /** The event model's fields, plus `extra` (exact names, or `prefix.*` for anything below prefix). */
  static forEvents(extra: readonly string[] = []): FieldVocabulary {
    const { paths, freeForm } = eventFieldNames();
    const exact = [...paths, ...extra.filter((e) => !e.endsWith(".*"))];
    const prefixes = [...freeForm, ...extra.filter((e) => e.endsWith(".*")).map((e) => e.slice(0, -2))];
    return new FieldVocabulary(exact, prefixes);
  }

  has(path: string): boolean {
    return this.exact.has(path) || this.prefixes.some((p) => path === p || path.startsWith(`${p}.`));
  }

  /** undefined when `path` is valid; else "unknown field X (did you mean Y?)". */
  check(path: string): string | undefined {
    if (this.has(path)) return undefined;
    const candidates = [...this.exact, ...this.prefixes.map((p) => `${p}.…`)];
    const [suggestion] = nearest(path, candidates);
    const hint = suggestion
      ? `did you mean ${suggestion}?`
      : `a field of the event, or a path under ${this.prefixes.map((p) => `${p}.`).join(", ")}`;
    return `unknown field "${path}" (${hint})`;
  }
}

/**
 * What the engine puts in every alert's title view besides the trigger event's own fields
 * (Engine.buildAlert); each kind adds its `titleFields`.
 */
export const TITLE_VIEW_FIELDS = [
  "event.*",
  "count",
  "group.*",
  "windowStart",
  "windowEnd",
  "rule.id",
  "rule.name",
  "rule.severity",
] as const;

/** A `var` path found in a JsonLogic condition, with the path of its node below the condition. */
export interface VarReference {
  path: (string | number)[];
  name: string;
}

/** Operators whose second (and later) arguments read each element, not the event. */
const SCOPED_OPERATORS = new Set(["map", "filter", "reduce", "all", "none", "some"]);

/** Every literal `var` path of a condition that reads the event (not those inside map/filter/… bodies). */
export function varReferences(logic: unknown, path: (string | number)[] = []): VarReference[] {
  if (Array.isArray(logic)) return logic.flatMap((item, i) => varReferences(item, [...path, i]));
  if (logic === null || typeof logic !== "object") return [];
  const keys = Object.keys(logic);
  if (keys.length !== 1) return [];
  const operator = keys[0]!;
  const args = (logic as Record<string, unknown>)[operator];
  if (operator === "var") {
    const name = Array.isArray(args) ? args[0] : args;
    if (typeof name === "string" && name !== "") return [{ path: [...path, operator], name }];
    return Array.isArray(args) ? varReferences(args, [...path, operator]) : [];
  }
  if (SCOPED_OPERATORS.has(operator) && Array.isArray(args)) return varReferences(args[0], [...path, operator, 0]);
  return varReferences(args, [...path, operator]);
}

/** The names a Mustache template reads at its top level (names inside sections are relative to them). */
export function templateNames(template: string): string[] {
  const names: string[] = [];
  const visit = (tokens: unknown[], depth: number) => {
    for (const token of tokens as [string, string, number, number, unknown[]?][]) {
      const [type, name, , , children] = token;
      if (type === "name" || type === "&" || type === "#" || type === "^") {
        if (depth === 0 && name !== ".") names.push(name);
      }
      if (children) visit(children, depth + 1);
    }
  };
  visit(Mustache.parse(template) as unknown[], 0);
  return names;
}

/** A zod schema's JSON Schema `$id`-free description of a field path that editors can complete. */
export function fieldPathJsonSchema(description: string | undefined): Record<string, unknown> {
  const { freeForm } = eventFieldNames();
  return {
    type: "string",
    ...(description ? { description } : {}),
    anyOf: [
      { enum: offeredFieldPaths() },
      { pattern: `^(${freeForm.join("|")})\\.[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$` },
    ],
  };
}
