import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import Mustache from "mustache";
import {
  errorMessage,
  formatProblem,
  parseSourceDocuments,
  keyPositionOf,
  positionOf,
  RuleError,
  locateZodProblems,
  type LocatedProblem,
  type SourceDocument,
} from "@vigil/core";
import { RULE_KINDS } from "./kinds/registry.js";
import type { RuleKind } from "./kinds/rule-kind.js";
import { RuleSchema, type Rule } from "./rule-schema.js";
import { checkCondition, compileCondition, type CompiledCondition } from "./condition.js";

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

/** Validates one document as a rule; returns the rule or the problems found. */
function validateDocument(source: SourceDocument): { loaded?: LoadedRule; problems: RuleProblem[] } {
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
    return { problems: [located([], "a rule is a mapping with id, name, severity and when")] };
  }
  const problems: RuleProblem[] = [];
  const parsed = RuleSchema.safeParse(value);
  if (!parsed.success) {
    for (const p of locateZodProblems(source, parsed.error)) {
      problems.push({ ...p, ruleId, message: ruleId ? `rule ${ruleId}: ${p.message}` : p.message });
    }
  }
  const when = (value as Record<string, unknown>).when;
  for (const p of checkCondition(when)) problems.push(located(["when", ...p.path], `when: ${p.message}`));
  for (const kind of Object.values(RULE_KINDS) as RuleKind<unknown>[]) {
    const spec = (value as Record<string, unknown>)[kind.name];
    if (spec === undefined || !kind.conditions) continue;
    for (const { path, logic } of kind.conditions(spec)) {
      const where = [kind.name, ...path];
      for (const p of checkCondition(logic))
        problems.push(located([...where, ...p.path], `${where.join(".")}: ${p.message}`));
    }
  }
  const title = (value as Record<string, unknown>).title;
  if (typeof title === "string") {
    try {
      Mustache.parse(title);
    } catch (err) {
      problems.push(located(["title"], `title: bad template: ${errorMessage(err)}`));
    }
  }
  if (problems.length || !parsed.success) return { problems };
  const pos = positionOf(source, ["id"]);
  return {
    loaded: { rule: parsed.data, condition: compileCondition(parsed.data.when), file: source.file, ...pos },
    problems,
  };
}

/** Loads every rule of one YAML/JSON text (several YAML documents allowed). */
export function parseRules(text: string, file: string): { rules: LoadedRule[]; problems: RuleProblem[] } {
  const { documents, problems } = parseSourceDocuments(text, file);
  const rules: LoadedRule[] = [];
  const all: RuleProblem[] = [...problems];
  for (const source of documents) {
    const { loaded, problems: docProblems } = validateDocument(source);
    all.push(...docProblems);
    if (loaded) rules.push(loaded);
  }
  return { rules, problems: all };
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
}

/**
 * Loads and validates every rule under `paths`. Collects every problem across every file
 * (syntax, schema, unknown operators, duplicate ids) and throws them together as a RuleError.
 */
export function loadRuleSet(paths: readonly string[]): RuleSet {
  const read = readRuleFiles(paths);
  const problems = [...read.problems];
  const rules: LoadedRule[] = [];
  const firstSeen = new Map<string, LoadedRule>();
  for (const { file, text } of read.texts) {
    const parsed = parseRules(text, file);
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
  return { rules, hash: hashRuleFiles(read) };
}

/** `loadRuleSet` without the hash. */
export function loadRules(paths: readonly string[]): LoadedRule[] {
  return loadRuleSet(paths).rules;
}
