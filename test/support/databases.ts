import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { describe } from "vitest";
import { type DbHandle, openDatabase, resultRows } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";

/** The real server, when the environment offers one (`.ci/run` sets it whenever the server answers). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "";

export type DriverName = "pglite" | "postgres";

export const drivers: DriverName[] = TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

export interface TestDatabase extends DbHandle {
  /** Gives the database back; the next test of this process gets it emptied. */
  dispose(): Promise<void>;
  /** A URL for a second process to reach the same database (real server only). */
  url: string | null;
}

/**
 * A migrated, empty database of its own: in-memory PGlite, or a database on the real server.
 * Creating one takes a second or more, so a disposed database goes back to a pool of this test
 * process and the next test gets it emptied (every table truncated, sequences restarted); the
 * pool is dropped when the test file ends (see test/setup-databases.ts).
 */
export async function createTestDatabase(driver: DriverName): Promise<TestDatabase> {
  while (pool[driver].length > 0) {
    const reused = pool[driver].pop()!;
    if (await emptied(reused)) return reused;
    await reused.destroy();
  }
  return driver === "pglite" ? createPglite() : createOnServer();
}

interface Pooled extends TestDatabase {
  destroy(): Promise<void>;
}

const pool: Record<DriverName, Pooled[]> = { pglite: [], postgres: [] };

/** Closes and drops every pooled database of this process. */
export async function drainDatabasePool(): Promise<void> {
  for (const driver of drivers) {
    for (const db of pool[driver].splice(0)) await db.destroy();
  }
}

async function createPglite(): Promise<Pooled> {
  const handle = await openDatabase({ driver: "pglite", dataDir: null, loadFrom: await pgliteTemplate() });
  await runMigrations(handle);
  const db: Pooled = Object.assign(handle, {
    url: null,
    dispose: async () => void pool.pglite.push(db),
    destroy: () => handle.close(),
  });
  return db;
}

async function createOnServer(): Promise<Pooled> {
  const name = `pim_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = withDatabase(TEST_DATABASE_URL, name);
  const handle = await openDatabase({ driver: "postgres", url });
  await runMigrations(handle);
  const db: Pooled = Object.assign(handle, {
    url,
    dispose: async () => void pool.postgres.push(db),
    destroy: async () => {
      await handle.close().catch(() => {});
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  });
  return db;
}

/**
 * Empties every table of the public schema in one statement. The audit log's guard triggers are
 * bypassed for this session only (replica role), the way a restore would; false if the database
 * is no longer usable (a test closed it).
 */
async function emptied(db: Pooled): Promise<boolean> {
  try {
    const tables = resultRows<{ name: string }>(
      await db.db.execute(sql`select quote_ident(tablename) as name from pg_tables where schemaname = 'public'`),
    ).map((t) => t.name);
    await db.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      await tx.execute(sql.raw(`truncate ${tables.join(", ")} restart identity cascade`));
    });
    return true;
  } catch {
    return false;
  }
}

let template: Promise<Blob> | undefined;

/**
 * Starting PGlite runs initdb, which takes seconds; loading a dump of a migrated database takes a
 * fraction of that. The dump is made once per set of migrations and kept in the system's temp
 * folder, so every test process after the first loads it; every test still gets its own copy.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const file = join(tmpdir(), `pim-bot-pglite-template-${migrationsDigest()}.tar`);
    if (existsSync(file)) return new Blob([readFileSync(file)]);
    const handle = await openDatabase({ driver: "pglite", dataDir: null });
    await runMigrations(handle);
    const dump = await handle.pglite!.dumpDataDir("none");
    await handle.close();
    // Written aside and renamed, so a process reading it never sees half a file.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, file);
    return dump;
  })();
  return template;
}

function migrationsDigest(): string {
  const dir = new URL("../../drizzle/", import.meta.url).pathname;
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).sort())
    if (name.endsWith(".sql")) hash.update(name).update(readFileSync(join(dir, name)));
  hash.update(readFileSync(join(dir, "meta/_journal.json")));
  return hash.digest("hex").slice(0, 16);
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

/**
 * Suites about what chat says and sends for one command, button or form. They run on the embedded
 * database: the use cases and repositories beneath them run on both databases in test/integration,
 * and the end-to-end chat suites (the parity table, the deployments, the flow scenarios, metrics
 * and the request trace) run on both, so the server is exercised through chat too.
 */
export function describeChat(title: string, suite: (driver: DriverName) => void): void {
  describe(`${title} [pglite]`, () => suite("pglite"));
}

/** Suites that only make sense on the real server (concurrency, several connections). */
export const describeOnPostgres = describe.skipIf(!TEST_DATABASE_URL);
