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
  formatPosition,
  EVENT_OUTCOMES,
  type ActionVocabulary,
  type LocatedProblem,
  type SourceDocument,
} from "@vigil/core";
import type { z } from "zod";
import { attackTagProblem } from "./attack.js";
import { RULE_KINDS } from "./kinds/registry.js";
import type { RuleKind } from "./kinds/rule-kind.js";
import { RuleSchema, type Rule } from "./rule-schema.js";
import { checkCondition, compileCondition, type CompiledCondition } from "./condition.js";
import { FieldVocabulary, nearest, TITLE_VIEW_FIELDS, templateNames, varReferences } from "./rule-fields.js";
import { fieldClauses } from "./rule-index.js";
import {
  applyOverride,
  documentType,
  expandReferences,
  foreignKinds,
  ListSchema,
  MacroSchema,
  OverrideSchema,
  type Definitions,
  type RuleList,
  type RuleMacro,
} from "./rule-tuning.js";

const RULE_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** A validated rule with its condition compiled and where it was written. */
export interface LoadedRule {
  rule: Rule;
  condition: CompiledCondition;
  file: string;
  line: number;
  column: number;
  /** Where the overrides applied to it are, in the order applied. */
  overrides?: { file: string; line: number; column: number }[];
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
  /** Lists, macros and overrides from outside the rule files (the config's `rules` section: configRuleDocuments). */
  tuning?: readonly RuleDocument[];
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
  if (Array.isArray(doc.exceptions)) {
    doc.exceptions.forEach((exception, i) => {
      const when = exception && typeof exception === "object" ? (exception as { when?: unknown }).when : undefined;
      if (when !== undefined) out.push({ path: ["exceptions", i, "when"], logic: when });
    });
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

/** One document of a rule file or of the config's `rules` section, and where it sits in its file. */
export interface RuleDocument {
  source: SourceDocument;
  /** The document's path inside its YAML document (the config's `rules.overrides.0`; [] in a rule file). */
  base: (string | number)[];
  value: unknown;
}

function locator(doc: RuleDocument, ruleId: string | undefined, what = "rule"): Locate {
  return (path, message) => ({
    file: doc.source.file,
    ...keyPositionOf(doc.source, [...doc.base, ...path]),
    ...(ruleId === undefined ? {} : { ruleId }),
    message: ruleId ? `${what} ${ruleId}: ${message}` : message,
  });
}

function zodLocated(doc: RuleDocument, error: z.ZodError, ruleId: string | undefined, what = "rule"): RuleProblem[] {
  return locateZodProblems(doc.source, error, doc.base).map((p) => ({
    ...p,
    ...(ruleId === undefined ? {} : { ruleId }),
    message: ruleId ? `${what} ${ruleId}: ${p.message}` : p.message,
  }));
}

const idOf = (value: unknown, key = "id"): string | undefined => {
  const id = value && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  return typeof id === "string" ? id : undefined;
};

/** Validates one (expanded) rule value; returns the rule or the problems found. */
function validateRule(
  doc: RuleDocument,
  value: unknown,
  options: RuleLoadOptions,
  located: Locate,
): { loaded?: LoadedRule; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const ruleId = idOf(value);
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { problems: [located([], "a rule is a mapping with id, name, severity and when")], warnings: [] };
  }
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const parsed = RuleSchema.safeParse(value);
  if (!parsed.success) problems.push(...zodLocated(doc, parsed.error, ruleId));
  for (const { path, logic } of conditionsOf(value as Record<string, unknown>)) {
    const where = path.join(".");
    for (const p of checkCondition(logic)) problems.push(located([...path, ...p.path], `${where}: ${p.message}`));
  }
  problems.push(...checkFields(value as Record<string, unknown>, located));
  warnings.push(...checkVocabulary(value as Record<string, unknown>, options.vocabularies, located));
  const tags = (value as Record<string, unknown>).tags;
  (Array.isArray(tags) ? tags : []).forEach((tag, i) => {
    const problem = typeof tag === "string" ? attackTagProblem(tag) : undefined;
    if (problem) warnings.push(located(["tags", i], problem));
  });
  if (problems.length || !parsed.success) return { problems, warnings };
  const pos = positionOf(doc.source, [...doc.base, "id"]);
  return {
    loaded: { rule: parsed.data, condition: compileCondition(parsed.data.when), file: doc.source.file, ...pos },
    problems,
    warnings,
  };
}

/** The value with `{ list }` and `{ macro }` references expanded in each of its conditions. */
function expandConditions(
  value: Record<string, unknown>,
  defs: Definitions,
  located: Locate,
): { value: Record<string, unknown>; problems: RuleProblem[] } {
  const out = structuredClone(value);
  const problems: RuleProblem[] = [];
  for (const { path, logic } of conditionsOf(out)) {
    const expanded = expandReferences(logic, defs, path);
    for (const p of expanded.problems) problems.push(located(p.path, `${path.join(".")}: ${p.message}`));
    let parent: Record<string | number, unknown> = out;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    parent[path[path.length - 1]!] = expanded.logic;
  }
  return { value: out, problems };
}

/** Lists and macros defined by the documents (each once). */
function collectDefinitions(docs: readonly RuleDocument[], problems: RuleProblem[]): Definitions {
  const lists = new Map<string, RuleList>();
  const macros = new Map<string, RuleMacro>();
  const where = new Map<string, RuleProblem>();
  const defined: { doc: RuleDocument; macro: RuleMacro }[] = [];
  for (const doc of docs) {
    const type = documentType(doc.value);
    if (type !== "list" && type !== "macro") continue;
    const name = idOf(doc.value, type);
    const located = locator(doc, name, type);
    const parsed = (type === "list" ? ListSchema : MacroSchema).safeParse(doc.value);
    if (!parsed.success) {
      problems.push(...zodLocated(doc, parsed.error, name, type));
      continue;
    }
    const key = `${type}:${name}`;
    const first = where.get(key);
    const here = located([type], "");
    if (first) {
      problems.push({ ...here, message: `${type} ${name}: defined twice (first at ${formatPosition(first)})` });
      continue;
    }
    where.set(key, here);
    if (type === "list") lists.set(name!, parsed.data as RuleList);
    else macros.set(name!, parsed.data as RuleMacro);
    if (type === "macro") defined.push({ doc, macro: parsed.data as RuleMacro });
  }
  // A macro is checked like a condition once the lists and macros it uses are expanded.
  const defs = { lists, macros };
  for (const { doc, macro } of defined) {
    const located = locator(doc, macro.macro, "macro");
    const expanded = expandReferences(macro.when, defs, ["when"], [macro.macro]);
    for (const p of expanded.problems) problems.push(located(p.path, `when: ${p.message}`));
    for (const p of checkCondition(expanded.logic)) problems.push(located(["when", ...p.path], `when: ${p.message}`));
    for (const ref of varReferences(expanded.logic)) {
      const problem = FieldVocabulary.forEvents().check(ref.name);
      if (problem) problems.push(located(["when", ...ref.path], `when: ${problem}`));
    }
  }
  return defs;
}

/**
 * Loads rules from documents: lists and macros first (referenced from any rule), then the rules
 * (references expanded, each validated), then the overrides in document order, each checked
 * with the rule it tunes. Duplicate ids are problems.
 */
export function loadRuleDocuments(
  docs: readonly RuleDocument[],
  options: RuleLoadOptions = {},
): { rules: LoadedRule[]; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const defs = collectDefinitions(docs, problems);
  const rules: LoadedRule[] = [];
  const byId = new Map<string, { index: number; value: Record<string, unknown> }>();
  for (const doc of docs) {
    if (documentType(doc.value) !== "rule") continue;
    const ruleId = idOf(doc.value);
    const located = locator(doc, ruleId);
    const isMap = doc.value !== null && typeof doc.value === "object" && !Array.isArray(doc.value);
    const expanded = isMap
      ? expandConditions(doc.value as Record<string, unknown>, defs, located)
      : { value: doc.value as Record<string, unknown>, problems: [] };
    problems.push(...expanded.problems);
    const result = validateRule(doc, expanded.value, options, located);
    problems.push(...result.problems);
    warnings.push(...result.warnings);
    const loaded = result.loaded;
    if (!loaded || expanded.problems.length) continue;
    const earlier = byId.get(loaded.rule.id);
    if (earlier) {
      const first = rules[earlier.index]!;
      problems.push({
        file: loaded.file,
        line: loaded.line,
        column: loaded.column,
        ruleId: loaded.rule.id,
        message: `rule ${loaded.rule.id}: duplicate rule id (first defined at ${first.file}:${first.line}:${first.column})`,
      });
      continue;
    }
    byId.set(loaded.rule.id, { index: rules.length, value: expanded.value });
    rules.push(loaded);
  }
  for (const doc of docs) {
    if (documentType(doc.value) !== "override") continue;
    const target = idOf(doc.value, "override");
    const located = locator(doc, target, "override of");
    const parsed = OverrideSchema.safeParse(doc.value);
    if (!parsed.success) {
      problems.push(...zodLocated(doc, parsed.error, target, "override of"));
      continue;
    }
    const entry = byId.get(parsed.data.override);
    if (!entry) {
      const near = nearest(parsed.data.override, [...byId.keys()], 3);
      problems.push({
        ...located(["override"], ""),
        message: `override: no rule "${parsed.data.override}" is loaded${near.length ? ` (did you mean ${near.join(", ")}?)` : ""}`,
      });
      continue;
    }
    const foreign = foreignKinds(entry.value, doc.value as Record<string, unknown>);
    if (foreign.length) {
      for (const kind of foreign)
        problems.push(located([kind], `${kind}: the rule has no ${kind} (it is a ${kindOfValue(entry.value)} rule)`));
      continue;
    }
    const tuning = expandConditions(doc.value as Record<string, unknown>, defs, located);
    problems.push(...tuning.problems);
    const merged = applyOverride(entry.value, tuning.value);
    const result = validateRule(doc, merged, options, located);
    problems.push(...result.problems);
    warnings.push(...result.warnings);
    if (!result.loaded) continue;
    const original = rules[entry.index]!;
    const where = { file: doc.source.file, ...keyPositionOf(doc.source, [...doc.base, "override"]) };
    rules[entry.index] = {
      ...result.loaded,
      file: original.file,
      line: original.line,
      column: original.column,
      overrides: [...(original.overrides ?? []), where],
    };
    byId.set(parsed.data.override, { index: entry.index, value: merged });
  }
  for (const warning of expiredExceptions(rules)) warnings.push(warning);
  return { rules, problems, warnings };
}

function kindOfValue(value: Record<string, unknown>): string {
  return Object.keys(RULE_KINDS).find((name) => name !== "match" && value[name] !== undefined) ?? "match";
}

/** Exceptions whose `expires` has passed (wall clock): they no longer keep anything out. */
function expiredExceptions(rules: readonly LoadedRule[]): RuleProblem[] {
  const now = Date.now();
  return rules.flatMap((loaded) =>
    (loaded.rule.exceptions ?? [])
      .filter((e) => e.expires !== undefined && Date.parse(e.expires) <= now)
      .map((e) => ({
        file: loaded.file,
        line: loaded.line,
        column: loaded.column,
        ruleId: loaded.rule.id,
        message: `rule ${loaded.rule.id}: the exception "${e.reason}" expired on ${e.expires}; it applies only to older events`,
      })),
  );
}

/** The documents of one YAML/JSON text (several YAML documents allowed). */
function documentsOf(text: string, file: string): { docs: RuleDocument[]; problems: RuleProblem[] } {
  const { documents, problems } = parseSourceDocuments(text, file);
  return { docs: documents.map((source) => ({ source, base: [], value: source.doc.toJS() })), problems };
}

/**
 * The tuning documents of a config file's `rules` section (`overrides`, `lists`, `macros`), located
 * in it. Problems of the config file itself are its loader's to report; a file that does not parse
 * gives none.
 */
export function configRuleDocuments(text: string, file: string): RuleDocument[] {
  const [source] = parseSourceDocuments(text, file).documents;
  if (!source) return [];
  const rules = (source.doc.toJS() as { rules?: Record<string, unknown> } | null)?.rules;
  if (!rules || typeof rules !== "object") return [];
  return (["lists", "macros", "overrides"] as const).flatMap((section) => {
    const items = rules[section];
    return Array.isArray(items) ? items.map((value, i) => ({ source, base: ["rules", section, i], value })) : [];
  });
}

/** Loads every rule of one YAML/JSON text, with the lists, macros and overrides it holds. */
export function parseRules(
  text: string,
  file: string,
  options: RuleLoadOptions = {},
): { rules: LoadedRule[]; problems: RuleProblem[]; warnings: RuleProblem[] } {
  const { docs, problems } = documentsOf(text, file);
  const loaded = loadRuleDocuments([...docs, ...(options.tuning ?? [])], options);
  return { ...loaded, problems: [...problems, ...loaded.problems] };
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
function hashRuleFiles(
  { texts, problems }: ReturnType<typeof readRuleFiles>,
  tuning: readonly RuleDocument[] = [],
): string {
  const hash = createHash("sha256");
  for (const doc of tuning) hash.update(`~${JSON.stringify(doc.value)}\u0000`);
  for (const { file, text } of texts) hash.update(`${file}\u0000${text}\u0000`);
  for (const problem of problems) hash.update(`!${formatProblem(problem)}\u0000`);
  return hash.digest("hex").slice(0, 16);
}

/** The hash `loadRuleSet` would give the files under `paths` as they are now: cheap enough to poll. */
export function ruleFilesHash(paths: readonly string[], tuning?: readonly RuleDocument[]): string {
  return hashRuleFiles(readRuleFiles(paths), tuning);
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
  const docs: RuleDocument[] = [];
  for (const { file, text } of read.texts) {
    const parsed = documentsOf(text, file);
    problems.push(...parsed.problems);
    docs.push(...parsed.docs);
  }
  const loaded = loadRuleDocuments([...docs, ...(options.tuning ?? [])], options);
  const order = new Map(read.texts.map(({ file }, i) => [file, i]));
  problems.push(
    ...loaded.problems.sort(
      (a, b) =>
        (order.get(a.file) ?? Infinity) - (order.get(b.file) ?? Infinity) ||
        (a.line ?? 0) - (b.line ?? 0) ||
        (a.column ?? 0) - (b.column ?? 0),
    ),
  );
  if (problems.length) throw new RuleError(problems);
  return { rules: loaded.rules, hash: hashRuleFiles(read, options.tuning), warnings: loaded.warnings };
}

/** `loadRuleSet` without the hash. */
export function loadRules(paths: readonly string[], options: RuleLoadOptions = {}): LoadedRule[] {
  return loadRuleSet(paths, options).rules;
}
