import { z } from "zod";
import { ConditionSchema, NameSchema, SeveritySchema } from "@vigil/core";
import { cidrProblem } from "./cidr.js";
import { RULE_KINDS } from "./kinds/registry.js";

// Tuning without forking: documents beside rules (in rule files, or in the config's `rules`
// section) that change shipped rules on load instead of copying them.
//   { override: <rule id>, … }   changes fields of one rule and adds exceptions to it
//   { list: <name>, items }      a named list of values (`type: cidr`: address ranges), used as { list: <name> }
//   { macro: <name>, when }      a named condition, used as { macro: <name> }

/** An exception: events matching `when` are kept out of the rule (until `expires`, in event time). */
export const ExceptionSchema = z.strictObject({
  reason: z.string().min(1).describe("Why these events are expected (required)"),
  when: ConditionSchema.describe("JsonLogic condition of the events to keep out of this rule"),
  expires: z.iso
    .datetime({ offset: true })
    .or(z.iso.date())
    .optional()
    .describe("From this time on (event time; a date means its midnight UTC) the exception no longer applies"),
});
export type RuleException = z.infer<typeof ExceptionSchema>;

export const ListSchema = z
  .strictObject({
    list: NameSchema.describe("The list's name, referenced as { list: <name> } in conditions"),
    description: z.string().optional(),
    type: z.enum(["values", "cidr"]).default("values").describe("cidr: address ranges, for in_cidr"),
    items: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
  })
  .superRefine((list, ctx) => {
    if (list.type !== "cidr") return;
    for (const [i, item] of list.items.entries()) {
      const problem = cidrProblem(item);
      if (problem) ctx.addIssue({ code: "custom", path: ["items", i], message: problem });
    }
  });
export type RuleList = z.infer<typeof ListSchema>;

export const MacroSchema = z.strictObject({
  macro: NameSchema.describe("The macro's name, referenced as { macro: <name> } in conditions"),
  description: z.string().optional(),
  when: ConditionSchema,
});
export type RuleMacro = z.infer<typeof MacroSchema>;

const STATEFUL_KIND_NAMES = Object.keys(RULE_KINDS).filter((name) => name !== "match");

/** What an override may change; kind parameters are merged into the rule's and checked with it. */
export const OverrideSchema = z.strictObject({
  override: z.string().min(1).describe("The id of the rule to tune"),
  enabled: z.boolean().optional(),
  severity: SeveritySchema.optional(),
  title: z.string().optional(),
  suppress: z.unknown().optional(),
  lateness: z.unknown().optional(),
  notify: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional().describe("Replace the rule's tags"),
  exceptions: z.array(z.unknown()).optional().describe("Added to the rule's own exceptions"),
  ...Object.fromEntries(
    STATEFUL_KIND_NAMES.map((name) => [
      name,
      z.record(z.string(), z.unknown()).optional().describe(`${name} parameters, merged into the rule's`),
    ]),
  ),
});

/** What kind of document a rule file's document is, by its first-class key. */
export function documentType(value: unknown): "override" | "list" | "macro" | "rule" {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const key of ["override", "list", "macro"] as const) if (key in value) return key;
  }
  return "rule";
}

/** Named lists and macros, defined once, referenced from any rule's conditions. */
export interface Definitions {
  lists: ReadonlyMap<string, RuleList>;
  macros: ReadonlyMap<string, RuleMacro>;
}

/**
 * The condition with every `{ list: name }` replaced by the list's items and every
 * `{ macro: name }` by the macro's condition (itself expanded). Unknown names and macros that
 * refer to themselves are problems at the reference's path.
 */
export function expandReferences(
  logic: unknown,
  defs: Definitions,
  path: (string | number)[] = [],
  using: readonly string[] = [],
): { logic: unknown; problems: { path: (string | number)[]; message: string }[] } {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const visit = (node: unknown, at: (string | number)[], stack: readonly string[]): unknown => {
    if (Array.isArray(node)) return node.map((item, i) => visit(item, [...at, i], stack));
    if (node === null || typeof node !== "object") return node;
    const keys = Object.keys(node);
    const record = node as Record<string, unknown>;
    if (keys.length === 1 && keys[0] === "list" && typeof record.list === "string") {
      const list = defs.lists.get(record.list);
      if (list) return [...list.items];
      problems.push({ path: [...at, "list"], message: unknownName("list", record.list, defs.lists) });
      return [];
    }
    if (keys.length === 1 && keys[0] === "macro" && typeof record.macro === "string") {
      const macro = defs.macros.get(record.macro);
      if (!macro) {
        problems.push({ path: [...at, "macro"], message: unknownName("macro", record.macro, defs.macros) });
        return false;
      }
      if (stack.includes(macro.macro)) {
        problems.push({
          path: [...at, "macro"],
          message: `macro ${[...stack, macro.macro].join(" → ")} refers to itself`,
        });
        return false;
      }
      return visit(macro.when, at, [...stack, macro.macro]);
    }
    return Object.fromEntries(keys.map((key) => [key, visit(record[key], [...at, key], stack)]));
  };
  return { logic: visit(logic, path, using), problems };
}

function unknownName(kind: string, name: string, known: ReadonlyMap<string, unknown>): string {
  const names = [...known.keys()];
  return `unknown ${kind} "${name}"${names.length ? ` (${kind}s: ${names.join(", ")})` : ` (no ${kind} is defined)`}`;
}

/** A rule document with an override applied: fields replaced, kind parameters merged, exceptions added. */
export function applyOverride(
  rule: Record<string, unknown>,
  override: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...rule };
  for (const [key, value] of Object.entries(override)) {
    if (key === "override") continue;
    if (key === "exceptions") {
      merged.exceptions = [...((rule.exceptions as unknown[] | undefined) ?? []), ...(value as unknown[])];
    } else if (STATEFUL_KIND_NAMES.includes(key)) {
      merged[key] = { ...(rule[key] as Record<string, unknown>), ...(value as Record<string, unknown>) };
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/** The kinds an override gives parameters for that its rule does not have. */
export function foreignKinds(rule: Record<string, unknown>, override: Record<string, unknown>): string[] {
  return STATEFUL_KIND_NAMES.filter((name) => override[name] !== undefined && rule[name] === undefined);
}

/** The exceptions of a rule as one test: true for an event some unexpired exception keeps out. */
export function exceptionTest(
  exceptions: readonly RuleException[] | undefined,
  compile: (logic: unknown) => (event: unknown) => boolean,
): ((event: { time: string }) => boolean) | undefined {
  if (!exceptions?.length) return undefined;
  const tests = exceptions.map((exception) => {
    const matches = compile(exception.when);
    if (exception.expires === undefined) return matches;
    const expiresMs = Date.parse(
      exception.expires.length === 10 ? `${exception.expires}T00:00:00Z` : exception.expires,
    );
    return (event: { time: string }) => Date.parse(event.time) < expiresMs && matches(event);
  });
  return (event) => tests.some((test) => test(event));
}
