/** How the `pim` command line answers: tables for people, JSON for scripts, errors on stderr. */

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Raw stdout, for streamed exports. */
  stdout: NodeJS.WritableStream;
}

/** The command line was used wrongly: usage is printed and the exit code is 2. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export type Cell = string | number | boolean | Date | null | undefined;

export function cell(value: Cell): string {
  if (value === null || value === undefined) return "-";
  if (value instanceof Date) return value.toISOString().replace(".000Z", "Z");
  return String(value);
}

/** A plain text table: a header, a rule, and the rows, columns padded to their widest cell. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map((c) => cell(c).replace(/\s+/g, " ")));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const body = [line(headers), line(widths.map((w) => "-".repeat(w))), ...text.map(line)];
  return rows.length === 0 ? `${line(headers)}\n(none)` : body.join("\n");
}

/** JSON with dates as ISO strings, one document per command. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
