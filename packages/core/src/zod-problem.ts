import type { z } from "zod";

/** One problem of a zod error: where in the value it is and what is wrong, in words. */
export interface ZodProblem {
  /** Path from the validated value's root; for an unknown key, the key itself is the last element. */
  path: PropertyKey[];
  /** The dotted path (`channels.0.smtp.port`), undefined when the value as a whole is wrong. */
  key: string | undefined;
  /** What is wrong, e.g. `is required (string)` or `unknown key "redis.prefx"`. */
  message: string;
  /** True for a key the schema does not know (its message then names the key already). */
  unknownKey: boolean;
}

/**
 * What was found at a path of the validated value, in words for a message (`"3" (a string)`, `a list`),
 * or undefined when nothing is there. Given by callers that have the document (config and rule files),
 * so messages say what was found beside what is expected.
 */
export type DescribeFound = (path: readonly PropertyKey[]) => string | undefined;

/**
 * The one way Vigil turns a zod error into words: one problem per issue, one per unknown key.
 * `basePath` prefixes every path (the value's place inside a larger document). Each message says
 * what is expected and, where `found` can tell, what was found instead.
 */
export function zodProblems(
  error: z.ZodError,
  basePath: readonly PropertyKey[] = [],
  found?: DescribeFound,
): ZodProblem[] {
  return problemsOf(error.issues, basePath, found);
}

function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  basePath: readonly PropertyKey[],
  found: DescribeFound | undefined,
): ZodProblem[] {
  const formatted = new Set<string>();
  return issues.flatMap((issue): ZodProblem[] => {
    const path = [...basePath, ...issue.path];
    // One format problem per value (a URL that fails its parse fails its pattern too).
    if (issue.code === "invalid_format") {
      const at = dottedPath(path);
      if (formatted.has(at)) return [];
      formatted.add(at);
    }
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((name) => {
        const keyPath = [...path, name];
        const key = dottedPath(keyPath);
        return { path: keyPath, key, message: `unknown key "${key}"`, unknownKey: true };
      });
    }
    const key = dottedPath(path);
    return [{ path, key: key === "" ? undefined : key, message: describeIssue(issue, path, found), unknownKey: false }];
  });
}

const KINDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "a list",
  object: "a map",
  date: "a date",
  bigint: "an integer",
};

function describeIssue(issue: z.core.$ZodIssue, path: PropertyKey[], found: DescribeFound | undefined): string {
  const what = found?.(path);
  const foundText = what === undefined ? "" : `, found ${what}`;
  switch (issue.code) {
    case "invalid_type": {
      // Without the document (provider responses, job payloads) the wording stays zod's kind alone.
      if (!found || what === undefined) return `is required (${issue.expected})`;
      return `expected ${KINDS[issue.expected] ?? issue.expected}${foundText}`;
    }
    case "invalid_union": {
      if ("options" in issue && Array.isArray(issue.options) && issue.discriminator !== undefined)
        return `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}${foundText}`;
      if (issue.errors.length === 0) return `${issue.message}${foundText}`;
      // Each accepted form, with what this value lacks or has too much for it.
      const forms = issue.errors.map(
        (branch, i) => `(${i + 1}) ${problemsOf(branch, [], undefined).map(formatZodProblem).join(", ")}`,
      );
      const shape = what === "a map" ? "" : foundText;
      return `fits none of the ${issue.errors.length} accepted forms${shape}: ${forms.join("; ")}`;
    }
    case "invalid_format": {
      // A pattern's own message says what is expected; else the format's name does. Without
      // knowing what was found, zod's own words (`Invalid ISO datetime`) say it best.
      if (!issue.message.startsWith("Invalid") || what === undefined) return `${issue.message}${foundText}`;
      return `expected ${issue.format === "url" ? "a URL" : `a ${issue.format}`}${foundText}`;
    }
    case "invalid_value":
      return `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`}${foundText}`;
    case "too_small":
    case "too_big":
      // A list's or map's size is what the message is about; a scalar is worth showing.
      return what === "a list" || what === "a map" ? issue.message : `${issue.message}${foundText}`;
    default:
      return issue.message;
  }
}

/** `key: message` (`actor.email: Invalid email address`), or the message alone when it names its key or there is none. */
export function formatZodProblem(problem: Pick<ZodProblem, "key" | "message" | "unknownKey">): string {
  return problem.key === undefined || problem.unknownKey ? problem.message : `${problem.key}: ${problem.message}`;
}

/** Every problem of a zod error on one line, `; `-separated. */
export function formatZodError(error: z.ZodError, basePath: readonly PropertyKey[] = []): string {
  const problems = zodProblems(error, basePath);
  return problems.length === 0 ? error.message : problems.map(formatZodProblem).join("; ");
}

export function dottedPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** The first problem of a zod error (what a parser that stops at the first bad field reports). */
export function firstZodProblem(error: z.ZodError, basePath: readonly PropertyKey[] = []): ZodProblem {
  return (
    zodProblems(error, basePath)[0] ?? {
      path: [...basePath],
      key: undefined,
      message: error.message,
      unknownKey: false,
    }
  );
}
