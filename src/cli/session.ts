import type { Actor } from "../app/admin/administrators.js";
import type { EngineDeps } from "../app/context.js";
import { noEvents } from "../app/context.js";
import { systemClock } from "../app/ports.js";
import { type DbHandle, openDatabase } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";

/** What a command that touches the database gets: the handle, the engine's deps, and who acts. */
export interface Session {
  handle: DbHandle;
  deps: EngineDeps;
  /** The operator at the command line: audited as `cli:<login>`. */
  actor: Actor;
}

export interface CliSettings {
  databaseUrl: string | undefined;
  pgliteDir: string;
  pimConfig: string;
  /** The operator's login, for the audit log. */
  operator: string;
}

/** Opens the database the bot uses (DATABASE_URL, else the embedded one in PGLITE_DIR), migrated. */
export async function openSession(settings: CliSettings): Promise<Session> {
  const handle = settings.databaseUrl
    ? await openDatabase({ driver: "postgres", url: settings.databaseUrl })
    : await openDatabase({ driver: "pglite", dataDir: settings.pgliteDir });
  try {
    await runMigrations(handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return {
    handle,
    deps: { db: handle.db, clock: systemClock, events: noEvents },
    actor: { kind: "operator", name: settings.operator },
  };
}
