/**
 * What the audit log's guard on its heads costs an append: transactions of 3 events through
 * appendAudit on the PostgreSQL server, with the head trigger (a head moves only to its lane's
 * last event) on and off, interleaved round by round so that a busy moment hits both alike.
 *
 *   npx tsx bench/audit-guards.ts        (BENCH_DATABASE_URL, default the local server)
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { type AuditEntry, appendAudit } from "../src/db/audit-append.js";
import { verifyAuditChain } from "../src/db/audit-log.js";
import { openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";
import { writeResult } from "./lib/report.js";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ROUNDS = 6;
const TRANSACTIONS = 400;
const WRITERS = 8;

async function main(): Promise<void> {
  const name = `pim_bench_guards_${randomBytes(4).toString("hex")}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ driver: "postgres", url: url.toString(), poolSize: WRITERS + 2 });
  try {
    await runMigrations(handle);
    const entries: AuditEntry[] = [0, 1, 2].map((i) => ({
      at: new Date(),
      event: "bench.append",
      actor: "bench",
      data: { i },
    }));
    const round = async (): Promise<number> => {
      let left = TRANSACTIONS;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (left-- > 0) await handle.db.transaction((tx) => appendAudit(tx, entries));
        }),
      );
      return TRANSACTIONS / ((performance.now() - started) / 1000);
    };
    const guard = (on: boolean) =>
      handle.db.execute(
        sql.raw(`alter table audit_lanes ${on ? "enable" : "disable"} trigger audit_lanes_head_is_last`),
      );
    await round(); // warm-up
    const withGuard: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await guard(true);
      withGuard.push(await round());
      await guard(false);
      without.push(await round());
    }
    await guard(true);
    const verified = await verifyAuditChain(handle);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const result = {
      transactionsPerRound: TRANSACTIONS,
      eventsPerTransaction: entries.length,
      writers: WRITERS,
      rounds: ROUNDS,
      guardedTps: Math.round(median(withGuard)),
      unguardedTps: Math.round(median(without)),
      ratio: Math.round((median(withGuard) / median(without)) * 1000) / 1000,
      verified: verified.ok,
    };
    console.log(
      `audit appends, ${WRITERS} writers, ${entries.length} events a transaction: ${result.guardedTps} tx/s with the head guard, ${result.unguardedTps} without (ratio ${result.ratio}); chain ${verified.ok ? "verified" : "BROKEN"}`,
    );
    console.log(`written to ${await writeResult("audit-guards", result)}`);
  } finally {
    await handle.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

await main();
