import { isTransientError } from "./client.js";

/**
 * Rejections postgres.js makes that no caller receives, when the server closes a connection (a
 * restart, a failover) at the wrong moment. Nothing of ours owns them: the unit of work that used
 * the connection has failed and been answered already, or none had started, and the pool
 * reconnects by itself. Node ends the process on an unhandled rejection, so `main.ts` logs exactly
 * these and lets every other one end the process.
 */
export function isUnownedDriverRejection(error: unknown): boolean {
  return isWriteOnLostDatabaseConnection(error) || isTypeQuestionOnLostConnection(error);
}

/**
 * A statement written to a connection the server has just closed: the socket's write error can
 * surface as a rejection no query hands on (upstream: porsager/postgres#1208). Recognised by the
 * socket error and the driver's connection module in its stack.
 */
export function isWriteOnLostDatabaseConnection(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; stack?: unknown } | null;
  return (
    (e?.code === "EPIPE" || e?.code === "ECONNRESET") &&
    e.syscall === "write" &&
    typeof e.stack === "string" &&
    /postgres[\\/]src[\\/]connection\.js/.test(e.stack)
  );
}

/**
 * The question postgres.js asks each new connection before its first query (which array types the
 * server has), failed because the connection closed under it: the driver awaits it where nothing
 * catches. The connection's first query is not lost: it waits in the pool for the reconnect.
 * Recognised by the question's own text, which the driver attaches to the error.
 */
export function isTypeQuestionOnLostConnection(error: unknown): boolean {
  const query = (error as { query?: unknown } | null)?.query;
  return (
    typeof query === "string" &&
    /from pg_catalog\.pg_type a\s+left join pg_catalog\.pg_type b on b\.oid = a\.typelem/.test(query) &&
    isTransientError(error)
  );
}
