import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { describe } from "vitest";
import { type DbHandle, openDatabase } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";

/** The real server, when the environment offers one (`.ci/run` sets it whenever the server answers). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "";

export type DriverName = "pglite" | "postgres";

export const drivers: DriverName[] = TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

export interface TestDatabase extends DbHandle {
  /** Drops the per-test database (real server) or discards the in-memory one. */
  dispose(): Promise<void>;
  /** A URL for a second process to reach the same database (real server only). */
  url: string | null;
}

/** A fresh, migrated database of its own: in-memory PGlite, or a new database on the real server. */
export async function createTestDatabase(driver: DriverName): Promise<TestDatabase> {
  if (driver === "pglite") {
    const handle = await openDatabase({ driver: "pglite", dataDir: null, loadFrom: await pgliteTemplate() });
    await runMigrations(handle);
    return Object.assign(handle, { dispose: () => handle.close(), url: null });
  }
  const name = `pim_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = withDatabase(TEST_DATABASE_URL, name);
  const handle = await openDatabase({ driver: "postgres", url });
  await runMigrations(handle);
  return Object.assign(handle, {
    url,
    dispose: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  });
}

let template: Promise<Blob> | undefined;

/**
 * Starting PGlite runs initdb, which takes seconds; loading a dump of a migrated database takes a
 * fraction of that. One template per test process; every test still gets its own copy.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const handle = await openDatabase({ driver: "pglite", dataDir: null });
    await runMigrations(handle);
    const dump = await handle.pglite!.dumpDataDir("none");
    await handle.close();
    return dump;
  })();
  return template;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Runs the same suite once per available driver. */
export function describeEachDatabase(title: string, suite: (driver: DriverName) => void): void {
  for (const driver of drivers) describe(`${title} [${driver}]`, () => suite(driver));
}

/** Suites that only make sense on the real server (concurrency, several connections). */
export const describeOnPostgres = describe.skipIf(!TEST_DATABASE_URL);
