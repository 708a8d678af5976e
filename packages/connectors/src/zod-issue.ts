import type { z } from "zod";

/** The first problem of a zod error as a dotted field path (`actor.email`, `data.0.id`) and a message. */
export function firstIssue(error: z.ZodError): { field: string | undefined; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: undefined, message: error.message };
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    return { field: dottedPath([...issue.path, key]), message: `unknown key "${key}"` };
  }
  const field = dottedPath(issue.path);
  const message = issue.code === "invalid_type" && issue.input === undefined ? `is required (${issue.expected})` : issue.message;
  return { field: field === "" ? undefined : field, message };
}

function dottedPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** `field actor.email: message`, or just the message when the whole value is wrong. */
export function formatIssue(issue: { field: string | undefined; message: string }): string {
  return issue.field === undefined ? issue.message : `field ${issue.field}: ${issue.message}`;
}
