import { sql } from "drizzle-orm";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { type DbHandle, openDatabase, resultRows, type Schema } from "./client.js";
import { journalEntries, migrationsFolder } from "./journal.js";

/** Arbitrary but fixed: every replica agrees on it, nothing else in the database uses it. */
export const MIGRATION_LOCK_KEY = 0x70696d01;

/**
 * Applies the generated SQL migrations in drizzle/. drizzle's migrator takes no lock of its own,
 * so replicas starting together queue on an advisory lock held by one reserved connection.
 *
 * With `ownerUrl` (MIGRATION_DATABASE_URL) they run on a connection of their own as the role that
 * owns the tables, so the role the bot runs as can be given only what it needs (README, "Tamper
 * evidence"): it then cannot switch the audit log's guards off, which only an owner can.
 */
export async function runMigrations(handle: DbHandle, ownerUrl?: string): Promise<void> {
  if (await migrationsUpToDate(handle)) return;
  if (!ownerUrl) return migrate(handle);
  const owner = await openDatabase({ driver: "postgres", url: ownerUrl, poolSize: 2 });
  try {
    await migrate(owner);
  } finally {
    await owner.close();
  }
}

async function migrate(handle: DbHandle): Promise<void> {
  await handle.withAdvisoryLock(MIGRATION_LOCK_KEY, async () => {
    if (handle.driver === "pglite") {
      await migratePglite(handle.db as unknown as PgliteDatabase<Schema>, { migrationsFolder });
    } else {
      await migratePostgres(handle.db as unknown as PostgresJsDatabase<Schema>, { migrationsFolder });
    }
  });
}

/**
 * Whether the database already has every migration of the journal: one query, where drizzle's
 * migrator reads and hashes every migration file and sends several statements to find nothing to
 * do — most of what a restart would spend on migrations. The migrator applies a migration when it
 * is newer than the newest one recorded, so this asks the same question. Any failure (no
 * migrations table yet, a role that may not read it) leaves the answer to the migrator.
 */
export async function migrationsUpToDate(handle: DbHandle): Promise<boolean> {
  const newest = Math.max(...journalEntries().map((e) => e.when));
  try {
    const [last] = resultRows<{ created_at: string | number }>(
      await handle.db.execute(
        sql`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`,
      ),
    );
    return last !== undefined && Number(last.created_at) >= newest;
  } catch {
    return false;
  }
}
