import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite, PgliteTransaction } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { DEFAULT_TEMPLATE, unpackTemplate, usableTemplate } from "./embedded-template.js";
import { journalEntries } from "./journal.js";
import * as schema from "./schema/index.js";

const run = promisify(execFile);

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything queries can run on: the database itself or an open transaction. */
export type Executor = Database | Tx;

export type DatabaseTarget =
  | { driver: "postgres"; url: string; poolSize?: number; connectionWaitMs?: number; statementAnswerMs?: number }
  | {
      driver: "pglite";
      dataDir: string | null /* null: in memory */;
      loadFrom?: Blob;
      /** What a new data directory starts from (embedded-template.ts); default: the one built beside the code. */
      template?: string;
    };

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
    ? openPostgres(target.url, target.poolSize ?? 10, {
        connectionWaitMs: target.connectionWaitMs ?? CONNECTION_WAIT_MS,
        answerMs: target.statementAnswerMs ?? STATEMENT_ANSWER_MS,
      })
    : openPglite(target.dataDir, target.loadFrom, target.template);
}

function openPostgres(url: string, poolSize: number, waits: { connectionWaitMs: number; answerMs: number }): DbHandle {
  const connections = new ConnectionWatch(waits.connectionWaitMs, waits.answerMs);
  const sql = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    onclose: (id: number) => connections.closed(id),
    connection: { application_name: "pim-bot" },
    backoff: reconnectDelaySeconds,
  });
  const db = drizzlePostgres({ client: preparing(sql, connections), schema }) as unknown as Database;
  return {
    db,
    driver: "postgres",
    sql,
    pglite: null,
    async withAdvisoryLock(key, fn) {
      const reserved = await reserveWatched(sql, connections);
      try {
        await reserved.first("select pg_advisory_lock($1)", [key]);
        try {
          return await fn();
        } finally {
          // A closed connection took its session lock with it; nothing to unlock.
          if (!reserved.dead()) await reserved.sql`select pg_advisory_unlock(${key})`;
        }
      } finally {
        reserved.release();
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * How long to wait before connecting again after the `failures`-th failed attempt, shared by the
 * whole pool. postgres.js's own delay grows to 20 s, so a bot whose database was away for ten
 * seconds would stay away for up to twenty more, while clicks wait to be recorded; capped at 2 s,
 * it is back within two seconds of its database, at a cost of one refused connection a second or so.
 */
function reconnectDelaySeconds(failures: number): number {
  return Math.min(0.05 * 2 ** failures, 2) * (0.5 + Math.random() / 2);
}

/** A connection as postgres.js hands it to a query's `onexecute`: its id is what `onclose` reports. */
interface DriverConnection {
  id: number;
  /** Fails whatever it has in flight and closes its socket; the pool opens it again when needed. */
  terminate(): void;
}

/**
 * Which reserved connections the server (or the network) has closed. postgres.js 3.4 does not
 * guard a reserved connection after its socket closed: a query sent on it, or releasing it (which
 * puts it back among the open ones), schedules a write on a null socket, and the TypeError thrown
 * from that setImmediate cannot be caught by anyone — it ends the process. A database restart while
 * the process was paused does exactly that. So every reserved connection is watched through the
 * pool's `onclose`, and once closed it is neither queried nor released again: the pool already
 * took it back as a closed connection and reconnects it on demand.
 */
class ConnectionWatch {
  private readonly watched = new Map<number, () => void>();

  constructor(
    /** How long a unit waits for a connection of its own (see CONNECTION_WAIT_MS). */
    readonly waitMs: number,
    /** How long a statement may go unanswered (see STATEMENT_ANSWER_MS). */
    readonly answerMs: number,
  ) {}

  watch(id: number, onClose: () => void): () => void {
    this.watched.set(id, onClose);
    return () => {
      if (this.watched.get(id) === onClose) this.watched.delete(id);
    };
  }

  closed(id: number): void {
    const onClose = this.watched.get(id);
    this.watched.delete(id);
    onClose?.();
  }
}

interface WatchedReservation {
  sql: postgres.ReservedSql;
  /** Whether the connection has closed since it was reserved. */
  dead(): boolean;
  /**
   * Rejects when the connection closes. postgres.js 3.4 can leave statements on a reserved
   * connection unanswered for good when it closes (those still queued behind one in flight), so
   * whoever waits on them races this instead of waiting for ever.
   */
  lost: Promise<never>;
  /**
   * Closes a connection that stopped answering, so it neither holds the transaction open on the
   * server (closing it rolls back) nor goes back to the pool to hold up the next one.
   */
  abandon(): Promise<void>;
  /**
   * Sends the first statement, which tells which connection it went out on; it must be sent
   * before anything else awaits, while the connection is still known to be open.
   */
  first(statement: string, params?: postgres.ParameterOrJSON<never>[]): postgres.PendingQuery<postgres.Row[]>;
  /** Gives a live connection back to the pool; a closed one is left to the pool's reconnect. */
  release(): void;
}

export class ConnectionLostError extends Error {
  readonly code = "CONNECTION_CLOSED";
  constructor(cause?: unknown) {
    super("the database connection closed during the unit of work; it was rolled back", { cause });
  }
}

/** A connection the pool could not hand out in time: the database is away or overloaded; try again. */
export class ConnectionWaitError extends Error {
  readonly code = "CONNECTION_WAIT_TIMEOUT";
  constructor(waitedMs: number) {
    super(`no database connection was free within ${waitedMs / 1000} s`);
  }
}

/**
 * How long a unit of work waits for a connection of its own before it fails as the database being
 * away (and is tried again like one). Besides a pool busy for that long, it covers a postgres.js 3.4
 * fault: a reservation whose new connection is closed while the driver asks it for the server's
 * array types (a restart, a failover, at that moment) is dropped by the driver and never answered,
 * and the unit waiting on it, with whatever waits on that unit (a worker round, a sweep), would wait
 * for good. A reservation answered after the deadline is given straight back.
 */
export const CONNECTION_WAIT_MS = 10_000;

async function reserveWatched(client: postgres.Sql, connections: ConnectionWatch): Promise<WatchedReservation> {
  const { waitMs } = connections;
  const reserving = client.reserve();
  const reserved = await orAfter(reserving, waitMs, () => {
    reserving.then(
      (late) => late.release(),
      () => {},
    );
    throw new ConnectionWaitError(waitMs);
  });
  let dead = false;
  let unwatch = () => {};
  let onLost = () => {};
  const lost = new Promise<never>((_, reject) => {
    onLost = () => reject(new ConnectionLostError());
  });
  lost.catch(() => {}); // raced by whoever uses the reservation
  let connection: DriverConnection | undefined;
  const watching = (c: DriverConnection) => {
    connection = c;
    unwatch = connections.watch(c.id, () => {
      dead = true;
      onLost();
    });
    return true; // keep pipelining
  };
  const guarded = new Proxy(reserved, {
    apply(target, thisArg, args) {
      if (dead) throw new ConnectionLostError();
      return Reflect.apply(target as never, thisArg, args);
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== "unsafe" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (dead) throw new ConnectionLostError();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as postgres.ReservedSql;
  return {
    sql: guarded,
    dead: () => dead,
    lost,
    async abandon() {
      dead = true;
      connection?.terminate();
      // Back among the pool's closed connections before the unit's failure is told: a connection
      // asked for meanwhile would be handed to a reopened one, which postgres.js 3.4 can drop.
      await orAfter(
        lost.catch(() => {}),
        1_000,
        () => {},
      );
    },
    first(statement, params = []) {
      // onexecute is how sql.begin itself learns its connection; postgres.js passes it the connection.
      return reserved.unsafe(statement, params, { onexecute: watching } as postgres.UnsafeQueryOptions);
    },
    release() {
      unwatch();
      if (!dead) reserved.release();
    },
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
function preparing(client: postgres.Sql, connections: ConnectionWatch, inTransaction = false): postgres.Sql {
  let savepoints = 0;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === "unsafe")
        return (query: string, params?: postgres.ParameterOrJSON<never>[], options?: postgres.UnsafeQueryOptions) => {
          const statement = target.unsafe(query, params, { ...options, prepare: true });
          return new AnsweredWithin(statement, connections.answerMs);
        };
      if (property === "begin" && !inTransaction)
        return (...args: unknown[]) => pipelinedTransaction(target, connections, args);
      if (property === "savepoint" && inTransaction)
        return async (fn: (tx: postgres.Sql) => unknown) => {
          const name = `s${savepoints++}`;
          await target.unsafe(`savepoint ${name}`);
          try {
            const result = await fn(receiver as postgres.Sql);
            await target.unsafe(`release savepoint ${name}`);
            return result;
          } catch (error) {
            await target.unsafe(`rollback to savepoint ${name}`);
            throw error;
          }
        };
      return Reflect.get(target, property, receiver);
    },
  });
}

/** A statement the database did not answer in time: it is away, or the driver lost the statement. */
export class NoAnswerError extends Error {
  readonly code = "CONNECTION_NO_ANSWER";
  constructor(waitedMs: number) {
    super(`the database did not answer a statement within ${waitedMs / 1000} s`);
  }
}

/**
 * How long a statement may go unanswered before it fails as the database being away.
 * postgres.js 3.4 can lose a statement whose connection is closed at the wrong moment (a restart, a
 * failover), or leave a connection it reopened answering nothing: whatever awaited it (a sweep, a
 * worker round) would wait for good. In a transaction, the connection that did not answer is
 * closed (WatchedReservation.abandon), which rolls the transaction back; a transaction whose
 * connection closes fails at once anyway (WatchedReservation.lost).
 */
export const STATEMENT_ANSWER_MS = 30_000;

/** A statement as drizzle sends it (awaited as it is, or through `.values()`), with a deadline. */
class AnsweredWithin implements PromiseLike<unknown> {
  constructor(
    private readonly statement: postgres.PendingQuery<(postgres.Row & Iterable<postgres.Row>)[]>,
    private readonly withinMs: number,
  ) {}

  values(): this {
    this.statement.values();
    return this;
  }

  // biome-ignore lint/suspicious/noThenProperty: drizzle awaits what the client's unsafe returns, as postgres.js's own statements are awaited
  then<A = unknown, B = never>(
    onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.statement.catch(() => {}); // past the deadline its end is nobody's
    return orAfter(this.statement, this.withinMs, () => {
      throw new NoAnswerError(this.withinMs);
    }).then(onFulfilled, onRejected);
  }
}

/**
 * sql.begin, one round trip shorter: BEGIN goes out with the transaction's first query instead of
 * ahead of it, on a connection reserved for the transaction. PostgreSQL runs them in order, and
 * if BEGIN failed the query fails too, so nothing runs outside the transaction. Any failure rolls
 * back, as sql.begin does.
 */
async function pipelinedTransaction(
  client: postgres.Sql,
  connections: ConnectionWatch,
  args: unknown[],
): Promise<unknown> {
  const fn = args.pop() as (tx: postgres.Sql) => unknown;
  const options = typeof args[0] === "string" ? args[0].replace(/[^a-z ]/gi, "") : "";
  const reserved = await reserveWatched(client, connections);
  try {
    const begun = reserved.first(`begin ${options}`);
    begun.catch(() => {}); // reported by the first query, which fails with it
    try {
      const body = (async () => {
        const result = await fn(preparing(reserved.sql, connections, true));
        await begun;
        await new AnsweredWithin(reserved.sql.unsafe("commit"), connections.answerMs);
        return result;
      })();
      body.catch(() => {}); // when the connection was lost first, the body's own end is nobody's
      return await Promise.race([body, reserved.lost]);
    } catch (error) {
      // A statement the connection never answered: ROLLBACK would only queue behind it.
      if (causedBy(error, NoAnswerError)) await reserved.abandon();
      // On a closed connection the server has rolled back already; sending anything would crash.
      // A connection closing meanwhile never answers a ROLLBACK queued on it: the close ends the
      // wait. One that did not roll back is closed rather than given back to the pool.
      if (!reserved.dead()) {
        const rolledBack = await Promise.race([
          new AnsweredWithin(reserved.sql.unsafe("rollback"), connections.answerMs).then(
            () => true,
            () => false,
          ),
          reserved.lost.then(
            () => false,
            () => false,
          ),
        ]);
        if (!rolledBack) await reserved.abandon();
      }
      throw reserved.dead() && !isConnectionError(error) ? new ConnectionLostError(error) : error;
    }
  } finally {
    reserved.release();
  }
}

/** `promise`, or after `ms` what `expired` returns or throws; the timer goes either way. */
async function orAfter<T, U>(promise: PromiseLike<T>, ms: number, expired: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(expired());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `error`, or an error it was caused by (drizzle wraps the driver's), is a `type`. */
function causedBy(error: unknown, type: new (...args: never[]) => Error): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    if (e instanceof type) return true;
    e = (e as Error).cause;
  }
  return false;
}

/** Errors of the connection itself, as postgres.js reports them, rather than of a statement. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === "string" &&
    (code.startsWith("CONNECTION_") || code === "CONNECT_TIMEOUT" || /^E[A-Z]+$/.test(code) || code.startsWith("08"))
  );
}

/**
 * SQLSTATEs a unit of work may simply be tried again after: the server shutting down or
 * restarting (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), and
 * concurrent transactions getting in each other's way (40001 serialization, 40P01 deadlock).
 */
const TRANSIENT_STATES = new Set(["57P01", "57P02", "57P03", "40001", "40P01"]);

/**
 * Whether a failure is the database being away or busy for a moment rather than anything about
 * the statement: the same unit of work may succeed when tried again. drizzle wraps the driver's
 * error in its own, so the whole chain of causes is read.
 */
export function isTransientError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (isConnectionError(e) || (typeof code === "string" && TRANSIENT_STATES.has(code))) return true;
  }
  return false;
}

/**
 * The embedded database's PostgreSQL settings, sized for one process and a small team's data:
 * PGlite's default of 128 MB of shared buffers is touched at start-up and held for good (WebAssembly
 * memory never shrinks), and its WAL is kept to a few segments. Durability is PGlite's own: every
 * commit is written through to the files before it returns, so a crashed or killed process loses
 * nothing it acknowledged (PGlite cannot fsync, so a power cut can; that is what PostgreSQL is for).
 */
export const PGLITE_START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...["shared_buffers=16MB", "work_mem=4MB", "maintenance_work_mem=16MB", "temp_buffers=4MB"].flatMap(setting),
  ...["max_wal_size=64MB", "min_wal_size=32MB"].flatMap(setting),
];

function setting(assignment: string): string[] {
  return ["-c", assignment];
}

async function openPglite(dataDir: string | null, loadFrom?: Blob, template?: string): Promise<DbHandle> {
  if (dataDir) await createDataDir(dataDir, template);
  const pglite = new PGlite({
    ...(dataDir ? { dataDir } : {}),
    ...(loadFrom ? { loadDataDir: loadFrom } : {}),
    startParams: PGLITE_START_PARAMS,
  });
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

const PGLITE_MODULE = createRequire(import.meta.url).resolve("@electric-sql/pglite");

/**
 * Creates the embedded database's files on first use, into a directory beside the target that is
 * renamed into place when complete: an interrupted first start leaves nothing half-made behind.
 * They come from the template built with the code when there is one (embedded-template.ts);
 * otherwise initdb makes them, in a short-lived child process, since PGlite runs it in a second,
 * temporary instance whose memory the process would keep (several hundred MB).
 */
async function createDataDir(dataDir: string, template = DEFAULT_TEMPLATE): Promise<void> {
  if (existsSync(join(dataDir, "PG_VERSION"))) return;
  await mkdir(dataDir, { recursive: true });
  const making = `${dataDir.replace(/[/\\]+$/, "")}.initializing`;
  await rm(making, { recursive: true, force: true });
  const from = usableTemplate(
    template,
    journalEntries().map((e) => e.tag),
  );
  if (from) unpackTemplate(from, making);
  else await initdbInChild(making, dataDir);
  try {
    await rename(making, dataDir);
  } catch (error) {
    await rm(making, { recursive: true, force: true });
    throw new Error(`${dataDir} is not empty and holds no database; move its files away or choose another PGLITE_DIR`, {
      cause: error,
    });
  }
}

async function initdbInChild(making: string, dataDir: string): Promise<void> {
  const script = `require(${JSON.stringify(PGLITE_MODULE)})
    .PGlite.create({ dataDir: process.argv[1], startParams: JSON.parse(process.argv[2]) })
    .then((db) => db.close())
    .catch((error) => { console.error(error); process.exit(1); });`;
  try {
    await run(process.execPath, ["-e", script, making, JSON.stringify(PGLITE_START_PARAMS)]);
  } catch (error) {
    const output = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`could not create the embedded database in ${dataDir}${output ? `: ${output}` : ""}`);
  }
}

/** postgres.js returns an array of rows, PGlite an object with `rows`. */
export function resultRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/**
 * Whether COMMIT may be sent while the transaction's last statement is still on its way. On the
 * server it may: statements on one connection run in order, and COMMIT after a failed statement
 * rolls back. Embedded PGlite gets no round trip to save, so it waits.
 */
export function commitMayFollowPending(tx: Tx): boolean {
  return !(tx instanceof PgliteTransaction);
}
