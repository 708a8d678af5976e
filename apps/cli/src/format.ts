/** A plain text table with a header row; cells are shown as given. */
export function formatTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cell = (value: unknown) => (value === undefined || value === null ? "-" : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line([...columns]), ...rows.map((row) => line(columns.map((column) => cell(row[column]))))].join("\n");
}
