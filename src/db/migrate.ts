import { fileURLToPath } from "node:url";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { DbHandle, Schema } from "./client.js";

/** Arbitrary but fixed: every replica agrees on it, nothing else in the database uses it. */
export const MIGRATION_LOCK_KEY = 0x70696d01;

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * Applies the generated SQL migrations in drizzle/. drizzle's migrator takes no lock of its own,
 * so replicas starting together queue on an advisory lock held by one reserved connection.
 */
export async function runMigrations(handle: DbHandle): Promise<void> {
  await handle.withAdvisoryLock(MIGRATION_LOCK_KEY, async () => {
    if (handle.driver === "pglite") {
      await migratePglite(handle.db as unknown as PgliteDatabase<Schema>, { migrationsFolder });
    } else {
      await migratePostgres(handle.db as unknown as PostgresJsDatabase<Schema>, { migrationsFolder });
    }
  });
}
