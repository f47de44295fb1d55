import { fileURLToPath } from "node:url";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { type DbHandle, openDatabase, type Schema } from "./client.js";

/** Arbitrary but fixed: every replica agrees on it, nothing else in the database uses it. */
export const MIGRATION_LOCK_KEY = 0x70696d01;

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * Applies the generated SQL migrations in drizzle/. drizzle's migrator takes no lock of its own,
 * so replicas starting together queue on an advisory lock held by one reserved connection.
 *
 * With `ownerUrl` (MIGRATION_DATABASE_URL) they run on a connection of their own as the role that
 * owns the tables, so the role the bot runs as can be given only what it needs (README, "Tamper
 * evidence"): it then cannot switch the audit log's guards off, which only an owner can.
 */
export async function runMigrations(handle: DbHandle, ownerUrl?: string): Promise<void> {
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
