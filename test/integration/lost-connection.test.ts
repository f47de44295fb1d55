import { createServer, type Server, Socket } from "node:net";
import { sql } from "drizzle-orm";
import { afterEach, expect, it } from "vitest";
import {
  ConnectionWaitError,
  type DbHandle,
  isTransientError,
  NoAnswerError,
  openDatabase,
  resultRows,
  type Tx,
} from "../../src/db/client.js";
import { isTypeQuestionOnLostConnection, isUnownedDriverRejection } from "../../src/db/lost-connection.js";
import { describeOnPostgres, TEST_DATABASE_URL } from "../support/databases.js";
import { eventually } from "../support/harness.js";

/** What a promise failed with, or undefined when it did not fail. */
const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * The real server behind a loopback relay that cuts a connection the moment the driver sends its
 * array-type question: what a restart does to a connection being opened, at exactly the wrong time.
 */
describeOnPostgres("a connection lost while the driver opens it", () => {
  let relay: Server | undefined;
  let handle: DbHandle | undefined;
  const unhandled: unknown[] = [];
  const collect = (reason: unknown) => void unhandled.push(reason);

  const open = new Set<Socket>();

  afterEach(async () => {
    process.off("unhandledRejection", collect);
    for (const socket of open) socket.destroy();
    open.clear();
    await handle?.close();
    handle = undefined;
    await new Promise((resolve) => (relay ? relay.close(resolve) : resolve(undefined)));
    relay = undefined;
    unhandled.length = 0;
    silent = false;
  });

  /** Whether the relay swallows what the client sends, as a connection the driver lost would. */
  let silent = false;

  /** Relays to the server; cuts the first `cuts` connections that ask for the array types. */
  async function cuttingRelay(cuts: number): Promise<string> {
    const server = new URL(TEST_DATABASE_URL);
    relay = createServer((client) => {
      const upstream = new Socket().connect(Number(server.port || 5432), server.hostname);
      open.add(client).add(upstream);
      const cut = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", cut);
      upstream.on("error", cut);
      client.on("close", cut);
      upstream.on("close", cut);
      upstream.on("data", (chunk) => client.write(chunk));
      client.on("data", (chunk) => {
        if (silent) return;
        if (cuts > 0 && chunk.includes("pg_catalog.pg_type")) {
          cuts--;
          cut();
          return;
        }
        upstream.write(chunk);
      });
    });
    await new Promise<void>((resolve) => relay!.listen(0, "127.0.0.1", resolve));
    const { port } = relay.address() as { port: number };
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${port}`;
    return url.toString();
  }

  it("fails the unit that waited for it as the database being away, and the process survives the driver's lost question", async () => {
    process.on("unhandledRejection", collect);
    const url = await cuttingRelay(2);
    handle = await openDatabase({ driver: "postgres", url, poolSize: 1, connectionWaitMs: 1_000 });
    const answer = () => handle!.db.transaction(async (tx) => resultRows(await tx.execute(sql`select 41 + 1 as n`)));

    // A transaction needs a connection of its own. The first two opened for it are cut while the
    // driver asks them for the server's types, and the driver drops the reservation: the unit
    // fails as the database being away, within the wait, instead of waiting for good.
    const failed = await failureOf(answer());
    expect(failed).toBeInstanceOf(ConnectionWaitError);
    expect(isTransientError(failed)).toBe(true);
    // Tried again, as the callers of a unit of work do, it runs on the connection the pool reopened.
    expect(await answer()).toEqual([{ n: 42 }]);

    await eventually(async () => unhandled.length >= 2, 5_000, "the driver's two lost type questions");
    for (const reason of unhandled) {
      expect(isTypeQuestionOnLostConnection(reason), String(reason)).toBe(true);
      expect(isUnownedDriverRejection(reason)).toBe(true);
    }
  });

  it("fails a statement outside a transaction that gets no answer, as the database being away", async () => {
    handle = await openDatabase({
      driver: "postgres",
      url: await cuttingRelay(0),
      poolSize: 1,
      statementAnswerMs: 300,
    });
    const one = () => handle!.db.execute(sql`select 1 as n`);
    expect(resultRows(await one())).toEqual([{ n: 1 }]);

    silent = true;
    const started = Date.now();
    const failed = await failureOf(one());
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isTransientError(failed)).toBe(true);
    let cause: unknown = failed;
    while (cause instanceof Error && !(cause instanceof NoAnswerError)) cause = cause.cause;
    expect(cause).toBeInstanceOf(NoAnswerError);
  });

  it("fails a transaction whose connection stops answering, closes that connection, and the next one runs", async () => {
    handle = await openDatabase({
      driver: "postgres",
      url: await cuttingRelay(0),
      poolSize: 1,
      statementAnswerMs: 300,
    });
    const count = (tx: Tx) => tx.execute(sql`select count(*)::int as n from pg_stat_activity`);
    await handle.db.transaction(count);

    silent = true;
    const failed = await failureOf(
      handle.db.transaction(async (tx) => {
        silent = true;
        return count(tx);
      }),
    );
    expect(isTransientError(failed)).toBe(true);

    // The one connection of the pool was closed, not given back stuck: the next unit gets a new one.
    silent = false;
    const rows = resultRows<{ n: number }>(await handle.db.transaction(count));
    expect(rows[0]!.n).toBeGreaterThan(0);
  });
});
