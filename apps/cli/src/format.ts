import { escapeControlChars, redactSecrets } from "@vigil/core";

/**
 * Text as the CLI writes it to a terminal: every control character but the line breaks it
 * wrote itself escaped (`\u001b`, `\r`, …: an event or record cannot move the cursor, rewrite a
 * line or plant an OSC 8 link), and every registered secret redacted, as in the logs.
 */
export function terminalText(text: string): string {
  return redactSecrets(escapeControlChars(text, { keepNewlines: true }));
}

/** Writes one line of command output to stdout, through {@link terminalText}. */
export function print(text: string): void {
  process.stdout.write(`${terminalText(text)}\n`);
}

/** A value shown inside one line or one table cell: line breaks escaped too. */
export function inlineText(value: unknown): string {
  return escapeControlChars(value === undefined || value === null ? "-" : String(value));
}

/** A plain text table with a header row; cells are shown on one line each, controls escaped. */
export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => inlineText(row[column]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line([...columns]), ...rows.map((row) => line(columns.map((column) => inlineText(row[column]))))].join("\n");
}
