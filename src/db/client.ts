import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema/index.js";

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything queries can run on: the database itself or an open transaction. */
export type Executor = Database | Tx;

export type DatabaseTarget =
  | { driver: "postgres"; url: string; poolSize?: number }
  | { driver: "pglite"; dataDir: string | null /* null: in memory */; loadFrom?: Blob };

export interface DbHandle {
  readonly db: Database;
  readonly driver: DatabaseTarget["driver"];
  /** The postgres.js client (real server only), for streaming COPY and reserved connections. */
  readonly sql: postgres.Sql | null;
  /** The embedded database (PGlite only). */
  readonly pglite: PGlite | null;
  /**
   * Runs `fn` while one reserved connection holds the session-level advisory lock `key`,
   * so that concurrent replicas take turns. PGlite has a single connection: no lock is needed.
   */
  withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openDatabase(target: DatabaseTarget): Promise<DbHandle> {
  return target.driver === "postgres"
    ? openPostgres(target.url, target.poolSize ?? 10)
    : openPglite(target.dataDir, target.loadFrom);
}

function openPostgres(url: string, poolSize: number): DbHandle {
  const sql = postgres(url, { max: poolSize, onnotice: () => {}, connection: { application_name: "pim-bot" } });
  const db = drizzlePostgres({ client: preparing(sql), schema }) as unknown as Database;
  return {
    db,
    driver: "postgres",
    sql,
    pglite: null,
    async withAdvisoryLock(key, fn) {
      const reserved = await sql.reserve();
      try {
        await reserved`select pg_advisory_lock(${key})`;
        try {
          return await fn();
        } finally {
          await reserved`select pg_advisory_unlock(${key})`;
        }
      } finally {
        reserved.release();
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * drizzle asks postgres.js for an unnamed statement unless a query was given a name, and for an
 * unnamed statement with parameters postgres.js first sends Parse and Describe and waits for the
 * parameter types: two round trips for every query. Named statements are described once per
 * connection and then cost one round trip (Bind, Execute) with the plan kept by the server, so
 * every query drizzle sends is made a named one. Query texts are stable: id lists travel as one
 * JSON parameter (see inIds), so a connection holds one statement per query shape.
 */
function preparing(client: postgres.Sql): postgres.Sql {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe")
        return (query: string, params?: postgres.ParameterOrJSON<never>[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, params, { ...options, prepare: true });
      if (property === "begin")
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (target.begin as (...a: unknown[]) => unknown)(...args, (tx: postgres.TransactionSql) =>
            fn(preparing(tx as unknown as postgres.Sql) as unknown as postgres.TransactionSql),
          );
        };
      if (property === "savepoint")
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return ((target as unknown as postgres.TransactionSql).savepoint as (...a: unknown[]) => unknown)(
            ...args,
            (tx: postgres.TransactionSql) =>
              fn(preparing(tx as unknown as postgres.Sql) as unknown as postgres.TransactionSql),
          );
        };
      return Reflect.get(target, property, receiver);
    },
  });
}

async function openPglite(dataDir: string | null, loadFrom?: Blob): Promise<DbHandle> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const pglite = new PGlite({ ...(dataDir ? { dataDir } : {}), ...(loadFrom ? { loadDataDir: loadFrom } : {}) });
  await pglite.waitReady;
  const db = drizzlePglite({ client: pglite, schema }) as unknown as Database;
  return {
    db,
    driver: "pglite",
    sql: null,
    pglite,
    withAdvisoryLock: (_key, fn) => fn(),
    close: () => pglite.close(),
  };
}

/** postgres.js returns an array of rows, PGlite an object with `rows`. */
export function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
