import { RE2JS } from "re2js";
import { z } from "zod";
import type { Alert } from "./alert.js";

/**
 * One condition on an alert's field, written `field=value`, `field!=value`, `field=~regex` or
 * `field!~regex` (routes, inhibition rules and silences share it). Regexes run on RE2 (linear
 * time, no backtracking) and must match the whole value, as in Alertmanager.
 */
export interface AlertMatcher {
  field: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
  /** The compiled pattern of `=~` and `!~`. */
  regex?: RE2JS;
}

/** The fields every alert has; any other name is a group value (`actor.email` reads `groupKey["actor.email"]`). */
export const ALERT_MATCH_FIELDS = ["ruleId", "ruleName", "severity", "tags", "provider", "title"] as const;

const MATCHER_PATTERN = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(=~|!~|!=|=)(.*)$/s;

/** Parses `field=value` and friends; throws an Error saying what is wrong. */
export function parseAlertMatcher(text: string): AlertMatcher {
  const parsed = MATCHER_PATTERN.exec(text);
  if (!parsed)
    throw new Error(`"${text}" is not a matcher: write field=value, field!=value, field=~regex or field!~regex`);
  const [, field, op, raw] = parsed as unknown as [string, string, AlertMatcher["op"], string];
  const value = unquote(raw.trim());
  if (op === "=" || op === "!=") return { field, op, value };
  try {
    return { field, op, value, regex: RE2JS.compile(value) };
  } catch (err) {
    throw new Error(`"${text}": invalid regex: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** A matcher as config and CLI write it, parsed (an invalid one is a schema problem naming it). */
export const AlertMatcherSchema = z.string().transform((text, ctx): AlertMatcher => {
  try {
    return parseAlertMatcher(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** The fields a matcher may read, all optional, so rules can be checked before they raise anything. */
export type MatchableAlert = Partial<Pick<Alert, "ruleId" | "ruleName" | "severity" | "tags" | "provider" | "title">> &
  Pick<Alert, "groupKey">;

/** The values of a field: tags are a list; a field the alert does not have reads as "". */
export function alertFieldValues(alert: MatchableAlert, field: string): string[] {
  switch (field) {
    case "tags":
      return alert.tags?.length ? alert.tags : [""];
    case "ruleId":
    case "ruleName":
    case "severity":
    case "provider":
    case "title":
      return [alert[field] ?? ""];
    default: {
      const value = alert.groupKey[field];
      if (value === undefined || value === null) return [""];
      return [typeof value === "string" ? value : JSON.stringify(value)];
    }
  }
}

/** Whether one matcher holds: `=`/`=~` when any value matches, `!=`/`!~` when none does. */
export function matcherHolds(matcher: AlertMatcher, alert: MatchableAlert): boolean {
  const values = alertFieldValues(alert, matcher.field);
  const test = (value: string) => (matcher.regex ? matcher.regex.matches(value) : value === matcher.value);
  const any = values.some(test);
  return matcher.op === "=" || matcher.op === "=~" ? any : !any;
}

/** Every matcher holds (an empty list holds for every alert). */
export function alertMatches(matchers: readonly AlertMatcher[], alert: MatchableAlert): boolean {
  return matchers.every((matcher) => matcherHolds(matcher, alert));
}

/** The text a matcher was written as. */
export function formatAlertMatcher(matcher: AlertMatcher): string {
  return `${matcher.field}${matcher.op}${matcher.value}`;
}
