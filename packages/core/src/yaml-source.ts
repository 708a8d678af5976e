import { type Document, isMap, isNode, isPair, isScalar, LineCounter, parseAllDocuments, type Node } from "yaml";
import type { z } from "zod";
import type { LocatedProblem } from "./errors.js";
import { type DescribeFound, formatZodProblem, zodProblems } from "./zod-problem.js";

/** One YAML (or JSON) document with what is needed to point back into its file. */
export interface SourceDocument {
  file: string;
  doc: Document;
  lineCounter: LineCounter;
}

/** Parses every document of a YAML or JSON text; syntax errors come back as located problems. */
export function parseSourceDocuments(
  text: string,
  file: string,
): { documents: SourceDocument[]; problems: LocatedProblem[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const problems: LocatedProblem[] = [];
  const documents: SourceDocument[] = [];
  for (const doc of list) {
    for (const err of doc.errors) {
      const pos = lineCounter.linePos(err.pos[0]);
      problems.push({ file, line: pos.line, column: pos.col, message: `syntax error: ${firstLine(err.message)}` });
    }
    if (doc.errors.length === 0 && doc.contents !== null) documents.push({ file, doc, lineCounter });
  }
  return { documents, problems };
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}

/** Line and column (1-based) of the node at `path`, or of its nearest existing ancestor. */
export function positionOf(source: SourceDocument, path: readonly PropertyKey[]): { line: number; column: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = source.doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return linePos(source, node.range[0]);
  }
  return { line: 1, column: 1 };
}

/** Position of the last path element's key when its parent is a map, else of the node itself. */
export function keyPositionOf(source: SourceDocument, path: readonly PropertyKey[]): { line: number; column: number } {
  const last = path[path.length - 1];
  if (typeof last === "string") {
    const pos = keyPosition(source, path.slice(0, -1), last);
    if (pos) return pos;
  }
  return positionOf(source, path);
}

/** Position of the key (not the value) of `key` inside the map at `path`. */
function keyPosition(
  source: SourceDocument,
  path: readonly PropertyKey[],
  key: string,
): { line: number; column: number } | undefined {
  const map = path.length === 0 ? source.doc.contents : source.doc.getIn(path as unknown[], true);
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
      return linePos(source, pair.key.range[0]);
    }
  }
  return undefined;
}

function linePos(source: SourceDocument, offset: number): { line: number; column: number } {
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, column: col };
}

/** Turns zod issues into problems located in the document, each naming its key (see `zodProblems`). */
export function locateZodProblems(
  source: SourceDocument,
  error: z.ZodError,
  basePath: readonly PropertyKey[] = [],
): LocatedProblem[] {
  return zodProblems(error, basePath, describeFound(source)).map((problem) => {
    const name = problem.path[problem.path.length - 1];
    const pos =
      problem.unknownKey && typeof name === "string"
        ? (keyPosition(source, problem.path.slice(0, -1), name) ?? positionOf(source, problem.path.slice(0, -1)))
        : positionOf(source, problem.path);
    return { file: source.file, ...pos, key: problem.key ?? "", message: formatZodProblem(problem) };
  });
}

/** Keys whose values are never repeated in a message, even as written in the file. */
const SECRET_KEY = /pass|secret|token|key|credential|auth|jwt/i;

/**
 * What the file holds at a path, as written (never a value resolved from `${…}`): `"3" (a string)`,
 * `a list`, `a map`; a secret-looking key's value by its kind only.
 */
function describeFound(source: SourceDocument): DescribeFound {
  return (path) => {
    const node = source.doc.getIn(path as unknown[], true);
    if (node === undefined) return undefined;
    if (isMap(node)) return "a map";
    if (isNode(node) && "items" in node) return "a list";
    if (!isScalar(node)) return undefined;
    const value = node.value;
    if (value === null) return "nothing (null)";
    const kind = typeof value === "string" ? "a string" : typeof value === "number" ? "a number" : `a ${typeof value}`;
    const last = path[path.length - 1];
    // The text as parsed, before any `${…}` in it was resolved.
    const written = node.source;
    if ((typeof last === "string" && SECRET_KEY.test(last)) || typeof written !== "string" || written.includes("${"))
      return kind;
    const shown = written.length > 60 ? `${written.slice(0, 57)}...` : written;
    return typeof value === "string" ? `${JSON.stringify(shown)} (${kind})` : `${shown} (${kind})`;
  };
}

/** Walks every string scalar of a document, replacing its value. */
export function mapStringScalars(
  source: SourceDocument,
  replace: (value: string, position: { line: number; column: number }) => string,
): void {
  const visit = (node: unknown): void => {
    if (isScalar(node)) {
      if (typeof node.value === "string") {
        const pos = node.range ? linePos(source, node.range[0]) : { line: 1, column: 1 };
        node.value = replace(node.value, pos);
      }
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) visit(pair.value);
      return;
    }
    if (isNode(node) && "items" in node && Array.isArray((node as { items: unknown[] }).items)) {
      for (const item of (node as { items: unknown[] }).items) visit(item);
    }
  };
  visit(source.doc.contents as Node | null);
}
