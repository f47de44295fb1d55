/**
 * A statement written to a connection the server has just closed (a restart, a failover): in
 * postgres.js the socket's write error can surface as a rejection no query hands on (upstream:
 * porsager/postgres#1208), after the transaction that sent it has already failed and been
 * answered. Recognised by the socket error and the driver's connection module in its stack.
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
