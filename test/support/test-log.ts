import pino from "pino";

/** Errors logged by pim-bot during a test; a world with any fails its test when disposed. */
const loggedErrors: string[] = [];
/** The same errors with every field pim-bot gave them (request ids, attempts), for tests that read them. */
const loggedErrorEntries: Record<string, unknown>[] = [];

export const testLog = pino(
  { level: process.env.TEST_LOG ?? "error" },
  {
    write(line: string) {
      const entry = JSON.parse(line) as { level: number; msg: string; err?: { message?: string } };
      if (entry.level >= 50) {
        loggedErrors.push(`${entry.msg}: ${entry.err?.message ?? ""}`);
        loggedErrorEntries.push(entry);
      }
      if (process.env.TEST_LOG) process.stderr.write(line);
    },
  },
);

/** Forgets errors logged before a world started. */
export function clearLoggedErrors(): void {
  loggedErrors.length = 0;
  loggedErrorEntries.length = 0;
}

/** Throws when pim-bot logged an error since the last call. */
export function failOnLoggedErrors(): void {
  loggedErrorEntries.length = 0;
  const errors = loggedErrors.splice(0);
  if (errors.length > 0) throw new Error(`pim-bot logged errors:\n${errors.join("\n")}`);
}

/** The errors logged so far in this world, left in place for dispose to report. */
export function loggedErrorsSoFar(): string[] {
  return [...loggedErrors];
}

/** The errors logged so far, as pim-bot wrote them, left in place for dispose to report. */
export function loggedErrorLines(): Record<string, unknown>[] {
  return [...loggedErrorEntries];
}
