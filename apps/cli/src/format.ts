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

/** A column's header: its words in lower case (`failedAt` is "failed at"), as every table of the CLI has them. */
function header(column: string): string {
  return column.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

/** A plain text table with a header row; cells are shown on one line each, controls escaped. */
export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const widths = columns.map((column) =>
    Math.max(header(column).length, ...rows.map((row) => inlineText(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(columns.map(header)), ...rows.map((row) => line(columns.map((column) => inlineText(row[column]))))].join(
    "\n",
  );
}

const UNITS: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/** A span of time for people: its largest unit and the next (`6d 3h`, `2h 15m`, `45s`), under a second `0s`. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000) * 1000);
  const i = UNITS.findIndex(([, size]) => total >= size);
  if (i === -1) return "0s";
  const [unit, size] = UNITS[i]!;
  const first = Math.floor(total / size);
  const next = UNITS[i + 1];
  const second = next ? Math.floor((total - first * size) / next[1]) : 0;
  return second && next ? `${first}${unit} ${second}${next[0]}` : `${first}${unit}`;
}
