import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import {
  errorMessage,
  formatProblem,
  parseSourceDocuments,
  keyPositionOf,
  positionOf,
  RuleError,
  locateZodProblems,
  EVENT_CATEGORIES,
  EVENT_OUTCOMES,
  type ActionVocabulary,
  type LocatedProblem,
  type SourceDocument,
} from "@vigil/core";
import { RULE_KINDS } from "./kinds/registry.js";
import type { RuleKind } from "./kinds/rule-kind.js";
import { RuleSchema, type Rule } from "./rule-schema.js";
import { checkCondition, compileCondition, type CompiledCondition } from "./condition.js";
import { FieldVocabulary, nearest, TITLE_VIEW_FIELDS, templateNames, varReferences } from "./rule-fields.js";
import { fieldClauses } from "./rule-index.js";

const RULE_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** A validated rule with its condition compiled and where it was written. */
export interface LoadedRule {
  rule: Rule;
  condition: CompiledCondition;
  file: string;
  line: number;
  column: number;
}

export type RuleProblem = LocatedProblem & { ruleId?: string };

/** Every rule file under the given files or folders (recursively), sorted for stable order. */
export function collectRuleFiles(paths: readonly string[]): { files: string[]; problems: RuleProblem[] } {
  const files: string[] = [];
  const problems: RuleProblem[] = [];
  const visit = (path: string, explicit: boolean) => {
    let stats: ReturnType<typeof statSync>;
    try {
      stats = statSync(path);
    } catch (err) {
      problems.push({
        file: path,
        message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
      });
      return;
    }
    if (stats.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (!entry.startsWith(".")) visit(join(path, entry), false);
      }
    } else if (RULE_EXTENSIONS.has(extname(path)) || explicit) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path, true);
  return { files, problems };
}

/** What rules are checked against beyond their own schema. */
export interface RuleLoadOptions {
  /**
   * Each provider's action vocabulary (from the connectors' manifests, passed in by the CLI): a
   * rule that pins providers and compares `action`, `category` or `outcome` with a value none of
   * them records gets a warning.
   */
  vocabularies?: Readonly<Record<string, ActionVocabulary>>;
}

/** Every JsonLogic condition of a rule document: `when` and those inside its kind's spec. */
function conditionsOf(doc: Record<string, unknown>): { path: (string | number)[]; logic: unknown }[] {
  const out: { path: (string | number)[]; logic: unknown }[] = [];
  if (doc.when !== undefined) out.push({ path: ["when"], logic: doc.when });
  for (const kind of Object.values(RULE_KINDS) as RuleKind<unknown>[]) {
    const spec = doc[kind.name];
    if (spec === undefined || !kind.conditions) continue;
    for (const { path, logic } of kind.conditions(spec)) out.push({ path: [kind.name, ...path], logic });
  }
  return out;
}

type Locate = (path: (string | number)[], message: string) => RuleProblem;

/**
 * Every field a rule names — `var` paths of its conditions, its kind's field paths (groupBy,
 * distinct, fields) and the `{{…}}` of its title — must be a field of the event model, lie under a
 * free-form object (`attributes.`), or (titles) be something its kind or the engine adds to the view.
 */
function checkFields(doc: Record<string, unknown>, located: Locate): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const events = FieldVocabulary.forEvents();
  for (const { path, logic } of conditionsOf(doc)) {
    for (const ref of varReferences(logic)) {
      const problem = events.check(ref.name);
      if (problem) problems.push(located([...path, ...ref.path], `${path.join(".")}: ${problem}`));
    }
  }
  const kinds = (Object.values(RULE_KINDS) as RuleKind<unknown>[]).filter(
    (kind) => kind.name === "match" || doc[kind.name] !== undefined,
  );
  const kind = kinds.find((k) => k.name !== "match") ?? kinds[0]!;
  const spec = doc[kind.name];
  for (const ref of kind.fieldPaths && spec !== undefined ? kind.fieldPaths(spec) : []) {
    const problem = events.check(ref.name);
    const where = [kind.name, ...ref.path];
    if (problem) problems.push(located(where, `${where.join(".")}: ${problem}`));
  }
  if (typeof doc.title === "string") {
    let names: string[] = [];
    try {
      names = templateNames(doc.title);
    } catch (err) {
      problems.push(located(["title"], `title: bad template: ${errorMessage(err)}`));
    }
    const view = FieldVocabulary.forEvents([...TITLE_VIEW_FIELDS, ...kind.titleFields]);
    for (const name of names) {
      const problem = view.check(name);
      if (problem) problems.push(located(["title"], `title: {{${name}}}: ${problem}`));
    }
  }
  return problems;
}

/** The fields whose values a provider's vocabulary lists. */
const VOCABULARY_FIELDS = ["action", "category", "outcome"] as const;
type VocabularyField = (typeof VOCABULARY_FIELDS)[number];
const COMPARISONS = new Set(["==", "===", "!=", "!=="]);

/** Literal values a condition compares `action`, `category` or `outcome` with, and where. */
function comparedLiterals(
  logic: unknown,
  path: (string | number)[] = [],
): { field: VocabularyField; value: string; path: (string | number)[] }[] {
  if (Array.isArray(logic)) return logic.flatMap((item, i) => comparedLiterals(item, [...path, i]));
  if (logic === null || typeof logic !== "object" || Object.keys(logic).length !== 1) return [];
  const [op] = Object.keys(logic) as [string];
  const args = (logic as Record<string, unknown>)[op];
  const fieldOf = (node: unknown): VocabularyField | undefined => {
    const name = node && typeof node === "object" ? (node as { var?: unknown }).var : undefined;
    const path = Array.isArray(name) ? name[0] : name;
    return (VOCABULARY_FIELDS as readonly unknown[]).includes(path) ? (path as VocabularyField) : undefined;
  };
  if (Array.isArray(args) && args.length === 2) {
    const [a, b] = args;
    if (COMPARISONS.has(op)) {
      const field = fieldOf(a) ?? fieldOf(b);
      const literal = fieldOf(a) ? b : a;
      const at = fieldOf(a) ? 1 : 0;
      if (field && typeof literal === "string") return [{ field, value: literal, path: [...path, op, at] }];
    }
    if (op === "in" && fieldOf(a) && Array.isArray(b)) {
      const field = fieldOf(a)!;
      return b.flatMap((value, i) => (typeof value === "string" ? [{ field, value, path: [...path, op, 1, i] }] : []));
    }
  }
  return comparedLiterals(args, [...path, op]);
}

/**
 * Warnings for values a rule compares `action`, `category` or `outcome` with that the providers it
 * pins (its `when` admits only them) never record; `category` and `outcome` are also checked
 * against the event model's values when no provider is pinned.
 */
function checkVocabulary(
  doc: Record<string, unknown>,
  vocabularies: Readonly<Record<string, ActionVocabulary>> | undefined,
  located: Locate,
): RuleProblem[] {
  const providers = Object.keys(vocabularies ?? {});
  const providerClauses = fieldClauses(doc.when).filter((c) => c.field === "provider");
  const pinned = providerClauses.length
    ? providers.filter((p) => providerClauses.every((clause) => clause.test(p)))
    : [];
  const known: Record<VocabularyField, Set<string>> = {
    action: new Set(pinned.flatMap((p) => vocabularies![p]!.map((e) => e.action))),
    category: new Set(
      pinned.length ? pinned.flatMap((p) => vocabularies![p]!.map((e) => e.category)) : EVENT_CATEGORIES,
    ),
    outcome: new Set(
      pinned.length ? pinned.flatMap((p) => vocabularies![p]!.flatMap((e) => e.outcomes)) : EVENT_OUTCOMES,
    ),
  };
  const whose = pinned.length ? `${pinned.join(" or ")} ${pinned.length > 1 ? "record" : "records"}` : "events have";
  const warnings: RuleProblem[] = [];
  for (const { path, logic } of conditionsOf(doc)) {
    for (const literal of comparedLiterals(logic)) {
      if (literal.field === "action" && pinned.length === 0) continue;
      const values = known[literal.field];
      if (values.has(literal.value)) continue;
      const near = nearest(literal.value, [...values], 3, Math.max(3, Math.ceil(literal.value.length / 2)));
      warnings.push(
        located(
          [...path, ...literal.path],
          `${path.join(".")}: no ${literal.field} "${literal.value}" among those ${whose}${near.length ? ` (nearest: ${near.join(", ")})` : ""}; see \`vigil providers actions\``,
        ),
      );
    }
  }
  return warnings;
}

/** Validates one document as a rule; returns the rule or the problems found. */
function validateDocument(
  source: SourceDocument,
  options: RuleLoadOptions = {},
): { loaded?: LoadedRule; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const value: unknown = source.doc.toJS();
  const rawId = value && typeof value === "object" ? (value as Record<string, unknown>).id : undefined;
  const ruleId = typeof rawId === "string" ? rawId : undefined;
  const located = (path: (string | number)[], message: string): RuleProblem => ({
    file: source.file,
    ...keyPositionOf(source, path),
    ruleId,
    message: ruleId ? `rule ${ruleId}: ${message}` : message,
  });
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { problems: [located([], "a rule is a mapping with id, name, severity and when")], warnings: [] };
  }
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const parsed = RuleSchema.safeParse(value);
  if (!parsed.success) {
    for (const p of locateZodProblems(source, parsed.error)) {
      problems.push({ ...p, ruleId, message: ruleId ? `rule ${ruleId}: ${p.message}` : p.message });
    }
  }
  for (const { path, logic } of conditionsOf(value as Record<string, unknown>)) {
    const where = path.join(".");
    for (const p of checkCondition(logic)) problems.push(located([...path, ...p.path], `${where}: ${p.message}`));
  }
  problems.push(...checkFields(value as Record<string, unknown>, located));
  warnings.push(...checkVocabulary(value as Record<string, unknown>, options.vocabularies, located));
  if (problems.length || !parsed.success) return { problems, warnings };
  const pos = positionOf(source, ["id"]);
  return {
    loaded: { rule: parsed.data, condition: compileCondition(parsed.data.when), file: source.file, ...pos },
    problems,
    warnings,
  };
}

/** Loads every rule of one YAML/JSON text (several YAML documents allowed). */
export function parseRules(
  text: string,
  file: string,
  options: RuleLoadOptions = {},
): { rules: LoadedRule[]; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const { documents, problems } = parseSourceDocuments(text, file);
  const rules: LoadedRule[] = [];
  const all: RuleProblem[] = [...problems];
  const warnings: RuleProblem[] = [];
  for (const source of documents) {
    const result = validateDocument(source, options);
    all.push(...result.problems);
    warnings.push(...result.warnings);
    if (result.loaded) rules.push(result.loaded);
  }
  return { rules, problems: all, warnings };
}

/** The rule files under `paths`, read once: what a rule set is loaded from and hashed over. */
function readRuleFiles(paths: readonly string[]): { texts: { file: string; text: string }[]; problems: RuleProblem[] } {
  const { files, problems } = collectRuleFiles(paths);
  const texts: { file: string; text: string }[] = [];
  for (const file of files) {
    try {
      texts.push({ file, text: readFileSync(file, "utf8") });
    } catch (err) {
      problems.push({ file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` });
    }
  }
  return { texts, problems };
}

/** sha256 (first 16 hex digits) of the files' names and contents and of what could not be read. */
function hashRuleFiles({ texts, problems }: ReturnType<typeof readRuleFiles>): string {
  const hash = createHash("sha256");
  for (const { file, text } of texts) hash.update(`${file}\u0000${text}\u0000`);
  for (const problem of problems) hash.update(`!${formatProblem(problem)}\u0000`);
  return hash.digest("hex").slice(0, 16);
}

/** The hash `loadRuleSet` would give the files under `paths` as they are now: cheap enough to poll. */
export function ruleFilesHash(paths: readonly string[]): string {
  return hashRuleFiles(readRuleFiles(paths));
}

/** Validated rules with the hash of the files they were loaded from (the same bytes). */
export interface RuleSet {
  rules: LoadedRule[];
  hash: string;
  /** What is legal but probably wrong (an action no pinned provider records), located like problems. */
  warnings: RuleProblem[];
}

/**
 * Loads and validates every rule under `paths`. Collects every problem across every file
 * (syntax, schema, unknown operators, duplicate ids) and throws them together as a RuleError.
 */
export function loadRuleSet(paths: readonly string[], options: RuleLoadOptions = {}): RuleSet {
  const read = readRuleFiles(paths);
  const problems = [...read.problems];
  const warnings: RuleProblem[] = [];
  const rules: LoadedRule[] = [];
  const firstSeen = new Map<string, LoadedRule>();
  for (const { file, text } of read.texts) {
    const parsed = parseRules(text, file, options);
    warnings.push(...parsed.warnings);
    problems.push(
      ...parsed.problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)),
    );
    for (const loaded of parsed.rules) {
      const earlier = firstSeen.get(loaded.rule.id);
      if (earlier) {
        problems.push({
          file: loaded.file,
          line: loaded.line,
          column: loaded.column,
          ruleId: loaded.rule.id,
          message: `rule ${loaded.rule.id}: duplicate rule id (first defined at ${earlier.file}:${earlier.line}:${earlier.column})`,
        });
        continue;
      }
      firstSeen.set(loaded.rule.id, loaded);
      rules.push(loaded);
    }
  }
  if (problems.length) throw new RuleError(problems);
  return { rules, hash: hashRuleFiles(read), warnings };
}

/** `loadRuleSet` without the hash. */
export function loadRules(paths: readonly string[], options: RuleLoadOptions = {}): LoadedRule[] {
  return loadRuleSet(paths, options).rules;
}
