import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PATHS } from "../paths.js";

/** The generated SQL migrations (drizzle-kit), read at start-up from beside the code. */
export const migrationsFolder = PATHS.migrations;

export interface JournalEntry {
  tag: string;
  /** When drizzle-kit generated it; the migrator records it as the migration's `created_at`. */
  when: number;
}

/** The migrations drizzle-kit's journal lists, oldest first. */
export function journalEntries(): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8"));
  return (journal as { entries: JournalEntry[] }).entries;
}
