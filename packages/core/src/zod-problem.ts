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
 * The one way Vigil turns a zod error into words: one problem per issue, one per unknown key.
 * `basePath` prefixes every path (the value's place inside a larger document).
 */
export function zodProblems(error: z.ZodError, basePath: readonly PropertyKey[] = []): ZodProblem[] {
  return error.issues.flatMap((issue): ZodProblem[] => {
    const path = [...basePath, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((name) => {
        const keyPath = [...path, name];
        const key = dottedPath(keyPath);
        return { path: keyPath, key, message: `unknown key "${key}"`, unknownKey: true };
      });
    }
    const key = dottedPath(path);
    const message =
      issue.code === "invalid_type" && issue.input === undefined ? `is required (${issue.expected})` : issue.message;
    return [{ path, key: key === "" ? undefined : key, message, unknownKey: false }];
  });
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
