import type { Actor } from "../app/admin/administrators.js";
import { systemClock } from "../app/kernel/clock.js";
import { noEvents } from "../app/kernel/events.js";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { Env } from "../config/env.js";
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
  /** The role that owns the tables, when migrations run as a separate owner. */
  migrationDatabaseUrl?: string | undefined;
  /** The key that signs audit checkpoints (never stored in the database). */
  checkpointKey?: string | undefined;
  /** Every setting, for commands that build links or read MFA rules the way the bot does. */
  env: Env;
  /**
   * A database that is already open, used instead of opening one from the settings above. Whoever
   * passes it keeps it open and closes it; a program that runs several commands on one embedded
   * database needs this, since an embedded database admits one opener at a time.
   */
  database?: DbHandle | undefined;
}

/** Opens the database the bot uses (DATABASE_URL, else the embedded one in PGLITE_DIR), migrated. */
export async function openSession(settings: CliSettings): Promise<Session> {
  if (settings.database) {
    await runMigrations(settings.database, settings.migrationDatabaseUrl);
    return sessionOn(settings.database, settings);
  }
  const handle = settings.databaseUrl
    ? await openDatabase({ driver: "postgres", url: settings.databaseUrl })
    : await openDatabase({ driver: "pglite", dataDir: settings.pgliteDir });
  try {
    await runMigrations(handle, settings.migrationDatabaseUrl);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return sessionOn(handle, settings);
}

function sessionOn(handle: DbHandle, settings: CliSettings): Session {
  return {
    handle,
    deps: { db: handle.db, clock: systemClock, events: noEvents },
    actor: { kind: "operator", name: settings.operator },
  };
}
