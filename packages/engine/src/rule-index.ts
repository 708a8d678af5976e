import { compilePredicate } from "./jsonlogic-compiler.js";

/** The event fields the index keys on: few values each, and what rules almost always pin. */
export const INDEXED_FIELDS = ["provider", "source", "action", "category", "outcome"] as const;
export type IndexedField = (typeof INDEXED_FIELDS)[number];

/** A clause of a condition that reads one indexed field and nothing else. */
export interface FieldClause {
  field: IndexedField;
  /** The clause's truthiness for an event whose field has this value (exact: it reads nothing else). */
  test(value: string): boolean;
}

const INDEXED = new Set<string>(INDEXED_FIELDS);
/** Operators that read the data by computed keys, so a clause using them is not a function of one field. */
const READS_DATA = new Set(["missing", "missing_some"]);

function isLogic(logic: unknown): logic is Record<string, unknown> {
  return typeof logic === "object" && logic !== null && !Array.isArray(logic) && Object.keys(logic).length === 1;
}
function argsOf(logic: Record<string, unknown>): { op: string; values: unknown[] } {
  const op = Object.keys(logic)[0]!;
  const raw = logic[op];
  return { op, values: Array.isArray(raw) ? raw : [raw] };
}

/**
 * The one indexed field every `var` in the clause reads, or undefined when the clause reads
 * anything else (another path, the whole data, a computed path, `missing`).
 */
function soleField(logic: unknown): IndexedField | undefined | null {
  // null: reads nothing; undefined: not indexable; a field: reads only that field.
  if (Array.isArray(logic)) {
    let field: IndexedField | null = null;
    for (const item of logic) {
      const inner = soleField(item);
      if (inner === undefined) return undefined;
      if (inner !== null) {
        if (field !== null && field !== inner) return undefined;
        field = inner;
      }
    }
    return field;
  }
  if (!isLogic(logic)) return null;
  const { op, values } = argsOf(logic);
  if (READS_DATA.has(op)) return undefined;
  if (op === "var") {
    const [path, fallback] = values;
    if (typeof path !== "string" || !INDEXED.has(path)) return undefined;
    const inner = soleField(fallback);
    if (inner === undefined || (inner !== null && inner !== path)) return undefined;
    return path as IndexedField;
  }
  return soleField(values);
}

/**
 * Whether evaluating the clause may throw; conservative. json-logic-js throws on a few operators'
 * inputs, and any operator can throw on data objects whose `toString`/`valueOf` keys are not
 * functions, so a clause reading anything but the (string) indexed fields may throw.
 */
function clauseMayThrow(clause: unknown): boolean {
  return soleField(clause) === undefined || mayThrow(clause);
}
function mayThrow(logic: unknown): boolean {
  if (Array.isArray(logic)) return logic.some(mayThrow);
  if (!isLogic(logic)) return false;
  const { op, values } = argsOf(logic);
  if (op === "*" || READS_DATA.has(op)) return true;
  if (op === "in") {
    const haystack = values[1];
    if (!(typeof haystack === "string" || (Array.isArray(haystack) && !haystack.some(isLogic)))) return true;
  }
  return values.some(mayThrow);
}

/** The top-level `and` clauses of a condition (nested `and`s flattened), in evaluation order. */
function topLevelClauses(when: unknown): unknown[] {
  if (!isLogic(when)) return [when];
  const { op, values } = argsOf(when);
  if (op !== "and" || values.length === 0) return [when];
  return values.flatMap(topLevelClauses);
}

/**
 * The clauses of a condition that constrain one indexed field, such that the condition cannot
 * hold (and cannot throw) when any of them is false: top-level `and` clauses (or the bare
 * condition) reading a single indexed field, taken only while no earlier clause may throw,
 * because json-logic-js evaluates `and` clauses in order and stops at the first false one.
 */
export function fieldClauses(when: unknown): FieldClause[] {
  const out: FieldClause[] = [];
  for (const clause of topLevelClauses(when)) {
    const field = soleField(clause);
    if (field) {
      const predicate = compilePredicate(clause);
      out.push({
        field,
        test: (value) => {
          try {
            return predicate({ [field]: value });
          } catch {
            return true; // the condition itself decides (and throws) as it would without the index
          }
        },
      });
    }
    if (clauseMayThrow(clause)) break;
  }
  return out;
}

/**
 * The condition left to test on an event the index has keyed: `when` without the field clauses
 * the index tests (those that cannot throw), in their order. An event is a candidate only if each
 * of them holds, and and-clauses that hold change neither the truthiness of the rest nor whether
 * the rest throws. `true` when nothing is left; `when` itself when nothing was taken away.
 */
export function residualCondition(when: unknown): unknown {
  const clauses = topLevelClauses(when);
  const kept: unknown[] = [];
  let indexed = true;
  for (const clause of clauses) {
    if (indexed && soleField(clause) && !mayThrow(clause)) continue;
    kept.push(clause);
    if (clauseMayThrow(clause)) indexed = false;
  }
  if (kept.length === clauses.length) return when;
  if (kept.length === 0) return true;
  return kept.length === 1 ? kept[0] : { and: kept };
}

/**
 * What an event must satisfy for a rule to matter: its `when`, and for a rule of a kind with
 * steps (sequence), at least one of the steps' conditions.
 */
export interface RuleConditions {
  when: unknown;
  anyOf?: readonly unknown[];
}

interface DerivedConditions {
  when: FieldClause[];
  anyOf?: FieldClause[][];
}

const holds = (clauses: readonly FieldClause[], record: Record<string, unknown>) =>
  clauses.every((clause) => clause.test(record[clause.field] as string));

type Node = Map<string, Node | readonly number[]>;

/**
 * Which rules an event can possibly match, from the values of its indexed fields. Each
 * distinct combination of values is worked out once (every condition's field clauses tested on
 * it) and remembered, so an event costs a few map lookups. Conditions without field clauses are
 * always candidates; an event whose indexed fields are not all strings gets every condition.
 */
export class RuleIndex {
  private readonly fields: IndexedField[];
  private readonly derived: DerivedConditions[];
  private readonly all: readonly number[];
  private root: Node = new Map();
  private combinations = 0;

  /** @param rules each rule's conditions, by position. */
  constructor(
    rules: readonly RuleConditions[],
    private readonly maxCombinations = 50_000,
  ) {
    this.derived = rules.map(({ when, anyOf }) => ({ when: fieldClauses(when), anyOf: anyOf?.map(fieldClauses) }));
    const used = new Set(this.derived.flatMap((d) => [...d.when, ...(d.anyOf ?? []).flat()].map((c) => c.field)));
    this.fields = INDEXED_FIELDS.filter((field) => used.has(field));
    this.all = rules.map((_, i) => i);
  }

  /** What `candidates` returns for an event it cannot key: every condition, whose field clauses it did not test. */
  get unkeyed(): readonly number[] {
    return this.all;
  }

  /** Positions (ascending) of the conditions that may hold for this event; a superset of those that do. */
  candidates(event: unknown): readonly number[] {
    const fields = this.fields;
    const last = fields.length - 1;
    if (last < 0 || event === null || typeof event !== "object") return this.all;
    const record = event as Record<string, unknown>;
    let node = this.root;
    for (let i = 0; i < last; i++) {
      const value = record[fields[i]!];
      if (typeof value !== "string") return this.all;
      const next = node.get(value);
      if (next === undefined) return this.remember(record);
      node = next as Node;
    }
    const value = record[fields[last]!];
    if (typeof value !== "string") return this.all;
    return (node.get(value) as readonly number[] | undefined) ?? this.remember(record);
  }

  private remember(record: Record<string, unknown>): readonly number[] {
    for (const field of this.fields) if (typeof record[field] !== "string") return this.all;
    if (this.combinations >= this.maxCombinations) {
      this.root = new Map();
      this.combinations = 0;
    }
    const list: number[] = [];
    for (let c = 0; c < this.derived.length; c++) {
      const { when, anyOf } = this.derived[c]!;
      if (holds(when, record) && (!anyOf || anyOf.some((step) => holds(step, record)))) list.push(c);
    }
    let node = this.root;
    const last = this.fields.length - 1;
    for (let i = 0; i < last; i++) {
      const key = record[this.fields[i]!] as string;
      let next = node.get(key) as Node | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(key, next);
      }
      node = next;
    }
    node.set(record[this.fields[last]!] as string, list);
    this.combinations++;
    return list;
  }
}
