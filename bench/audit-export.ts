/**
 * Audit log at scale: export 1,000,000 events as CSV from the PostgreSQL server and verify their
 * hash chain, against the anchor `psql \copy` of the same rows, in the same run; then the same
 * export on PGlite with fewer rows. See bench/README.md.
 */
import { spawnSync } from "node:child_process";
import { closeSync, createWriteStream, openSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { finished } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { type AuditEntry, appendAudit, GENESIS_HASH, hashEvent, normalizeEntry } from "../src/db/audit-append.js";
import { auditCsvCopyStatement, exportAuditCsv, verifyAuditChain } from "../src/db/audit-log.js";
import { type DbHandle, openDatabase } from "../src/db/client.js";
import { runMigrations } from "../src/db/migrate.js";

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const BENCH_DATABASE = "pim_bench_audit";
const SERVER_ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);
const PGLITE_ROWS = Number(process.env.BENCH_AUDIT_PGLITE_ROWS ?? 100_000);
/** Each export is timed this many times; the best run is the figure (the first warms the caches). */
const RUNS = Number(process.env.BENCH_AUDIT_RUNS ?? 3);
const TARGETS = { exportRowsPerSecond: 100_000, peakRssMB: 250 };

const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const scratchDir = path.join(os.tmpdir(), "pim-bench-audit");

// ---------------------------------------------------------------------------------------------
// Audit-shaped rows

const EVENTS = ["activation.requested", "approval.decided", "activation.granted", "activation.ended"];
const ROLES = ["Global Administrator", "Exchange Administrator", "db-admin on prod-db", "Billing Reader"];
const REASONS = [
  "Investigating incident in the billing pipeline",
  'Rotate keys for "payments", then restart workers',
  "Quarterly access check, see ticket\nfor the full list",
  '=HYPERLINK("http://example.com") pasted by mistake',
];

/** Event i of a plausible history: four events per request, ~300 bytes of CSV per row. */
function auditShapedEntry(i: number, start: number): AuditEntry {
  const request = Math.floor(i / 4);
  const user = `user${request % 997}@example.com`;
  const approver = `approver${request % 31}@example.com`;
  const kind = EVENTS[i % 4]!;
  return {
    at: new Date(start + i * 1000),
    event: kind,
    actor: kind === "approval.decided" ? approver : kind === "activation.requested" ? user : "system",
    subject: user,
    role: ROLES[request % ROLES.length]!,
    scope: `/mg/prod/sub/${request % 50}/rg/web`,
    requestId: `req_${request.toString(36).padStart(8, "0")}`,
    activationId: kind === "activation.requested" ? null : `act_${request.toString(36).padStart(8, "0")}`,
    justification: REASONS[request % REASONS.length]!,
    ticket: `INC-${100000 + request}`,
    decision: kind === "approval.decided" ? "approve" : null,
    approver: kind === "approval.decided" ? approver : null,
    data: { durationMinutes: 60 + (request % 8) * 30, via: request % 2 ? "slack" : "teams" },
  };
}

const INSERT_COLUMNS =
  "at, event, actor, subject, role, scope, request_id, activation_id, justification, ticket, decision, approver, data, prev_hash, hash";

function copyInLine(content: ReturnType<typeof normalizeEntry>, prevHash: string, hash: string): string {
  const q = (value: string | null) => (value === null ? "" : `"${value.replaceAll('"', '""')}"`);
  const { at, event, actor, subject, role, scope, requestId, activationId, justification, ticket, decision, approver } =
    content;
  return `${[
    at.toISOString(),
    q(event),
    q(actor),
    q(subject),
    q(role),
    q(scope),
    q(requestId),
    q(activationId),
    q(justification),
    q(ticket),
    q(decision),
    q(approver),
    q(JSON.stringify(content.data)),
    prevHash,
    hash,
  ].join(",")}\n`;
}

/** Builds a valid chain in JavaScript with the real hash and streams it in through COPY FROM STDIN. */
async function insertChainWithCopy(sql: postgres.Sql, rows: number): Promise<void> {
  const start = Date.UTC(2026, 0, 1);
  const copy = await sql.unsafe(`copy audit_events (${INSERT_COLUMNS}) from stdin with (format csv)`).writable();
  let prevHash = GENESIS_HASH;
  for (let i = 0; i < rows; ) {
    let chunk = "";
    for (const end = Math.min(rows, i + 2000); i < end; i++) {
      const content = normalizeEntry(auditShapedEntry(i, start));
      const hash = hashEvent(prevHash, content);
      chunk += copyInLine(content, prevHash, hash);
      prevHash = hash;
    }
    if (!copy.write(chunk)) await new Promise((resolve) => copy.once("drain", resolve));
  }
  copy.end();
  await finished(copy);
}

async function insertChainWithAppend(handle: DbHandle, rows: number): Promise<void> {
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < rows; i += 1000) {
    const entries = Array.from({ length: Math.min(1000, rows - i) }, (_, k) => auditShapedEntry(i + k, start));
    await handle.db.transaction((tx) => appendAudit(tx, entries));
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Timed {
  seconds: number;
  rowsPerSecond: number;
}

function rate(rows: number, seconds: number): Timed {
  return { seconds: round(seconds, 3), rowsPerSecond: Math.round(rows / seconds) };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

const MB = 1024 * 1024;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Samples the process's resident memory every 50 ms while `fn` runs. */
interface Measured<T> {
  value: T;
  rssBeforeMB: number;
  peakRssMB: number;
}

async function withPeakRss<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, peakRssMB: round(peak / MB, 1), rssBeforeMB: round(before / MB, 1) };
  } finally {
    clearInterval(sampler);
  }
}

interface ExportRun {
  rows: number;
  seconds: number;
  bytes: number;
}

async function exportToFile(handle: DbHandle, file: string): Promise<ExportRun> {
  const { value: rows, seconds } = await timed(async () => {
    const out = createWriteStream(file);
    const { rows } = await exportAuditCsv(handle, {}, out);
    out.end();
    await finished(out);
    return rows;
  });
  return { rows, seconds, bytes: (await stat(file)).size };
}

/** The anchor: psql's own client-side COPY of the same 13 columns, in id order. */
function psqlCopyColumns(url: string, file: string): number {
  const query =
    "select at, event, actor, subject, role, scope, justification, ticket, decision, approver, request_id, activation_id, hash from audit_events order by id";
  return timePsql(url, `\\copy (${query}) to '${file}' csv header`);
}

/** Our exact statement run by psql: the server's share of our time, with no Node.js in the way. */
function psqlCopyStatement(url: string, statement: string, file: string): number {
  const out = openSync(file, "w");
  try {
    return timePsql(url, statement, out);
  } finally {
    closeSync(out);
  }
}

function timePsql(url: string, command: string, stdout: number | "pipe" = "pipe"): number {
  const t0 = process.hrtime.bigint();
  const run = spawnSync("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command], {
    encoding: "utf8",
    stdio: ["ignore", stdout, "pipe"],
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (run.status !== 0) throw new Error(`psql failed: ${run.stderr || run.error}`);
  return seconds;
}

function best<T extends { seconds: number }>(runs: T[]): { best: T; all: number[] } {
  const fastest = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { best: fastest, all: runs.map((r) => round(r.seconds, 3)) };
}

// ---------------------------------------------------------------------------------------------
// The two databases

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function benchServer() {
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${BENCH_DATABASE} with (force)`);
  await admin.unsafe(`create database ${BENCH_DATABASE}`);
  const url = withDatabase(SERVER_URL, BENCH_DATABASE);
  const handle = await openDatabase({ driver: "postgres", url });
  try {
    await runMigrations(handle);
    const [server] = await handle.sql!`select current_setting('server_version') as version`;

    console.log(`server: inserting ${SERVER_ROWS.toLocaleString("en")} hash-chained events…`);
    const insert = await timed(() => insertChainWithCopy(handle.sql!, SERVER_ROWS));
    await handle.sql!.unsafe("vacuum analyze audit_events");
    console.log(`  inserted in ${insert.seconds.toFixed(1)} s`);

    // The three are interleaved round by round, so a busy moment on a shared machine hits each alike.
    const anchorFile = path.join(scratchDir, "anchor.csv");
    const sameStatementFile = path.join(scratchDir, "same-statement.csv");
    const ourFile = path.join(scratchDir, "export.csv");
    const statement = auditCsvCopyStatement(handle.db, {});
    const anchorRuns: { seconds: number }[] = [];
    const sameStatementRuns: { seconds: number }[] = [];
    const ourRuns: Measured<ExportRun>[] = [];
    for (let round = 0; round < RUNS; round++) {
      anchorRuns.push({ seconds: psqlCopyColumns(url, anchorFile) });
      sameStatementRuns.push({ seconds: psqlCopyStatement(url, statement, sameStatementFile) });
      ourRuns.push(await withPeakRss(() => exportToFile(handle, ourFile)));
    }
    const anchor = best(anchorRuns);
    const sameStatement = best(sameStatementRuns);
    const exported = best(ourRuns.map((run) => run.value));
    const ours = exported.best;
    if (ours.rows !== SERVER_ROWS) throw new Error(`exported ${ours.rows} rows, expected ${SERVER_ROWS}`);
    const peakRssMB = Math.max(...ourRuns.map((run) => run.peakRssMB));
    const maxRssMB = round((process.resourceUsage().maxRSS * 1024) / MB, 1);
    console.log(`  anchor psql \\copy: ${anchor.best.seconds.toFixed(2)} s (runs ${anchor.all.join(", ")})`);
    console.log(
      `  our COPY in psql:   ${sameStatement.best.seconds.toFixed(2)} s (runs ${sameStatement.all.join(", ")})`,
    );
    console.log(`  exportAuditCsv:     ${ours.seconds.toFixed(2)} s (runs ${exported.all.join(", ")})`);

    const verify = await withPeakRss(() => timed(() => verifyAuditChain(handle)));
    if (!verify.value.value.ok)
      throw new Error(`the benchmark chain does not verify: ${JSON.stringify(verify.value.value)}`);

    const exportRate = rate(ours.rows, ours.seconds);
    const anchorRate = rate(SERVER_ROWS, anchor.best.seconds);
    return {
      serverVersion: (server as { version: string }).version,
      rows: SERVER_ROWS,
      insert: rate(SERVER_ROWS, insert.seconds),
      anchor: { ...anchorRate, bytes: (await stat(anchorFile)).size, runs: anchor.all },
      sameStatementInPsql: {
        ...rate(SERVER_ROWS, sameStatement.best.seconds),
        runs: sameStatement.all,
        sameSizeAsOurs: (await stat(sameStatementFile)).size === ours.bytes,
      },
      export: {
        ...exportRate,
        bytes: ours.bytes,
        runs: exported.all,
        ratioToAnchor: round(exportRate.rowsPerSecond / anchorRate.rowsPerSecond, 3),
        rssBeforeMB: ourRuns[0]!.rssBeforeMB,
        peakRssMB,
        maxRssMB,
      },
      verify: { ...rate(SERVER_ROWS, verify.value.seconds), peakRssMB: verify.peakRssMB },
    };
  } finally {
    await handle.close();
    await admin.unsafe(`drop database if exists ${BENCH_DATABASE} with (force)`);
    await admin.end();
  }
}

async function benchPglite() {
  const handle = await openDatabase({ driver: "pglite", dataDir: null });
  try {
    await runMigrations(handle);
    console.log(`pglite: appending ${PGLITE_ROWS.toLocaleString("en")} events…`);
    const insert = await timed(() => insertChainWithAppend(handle, PGLITE_ROWS));
    const file = path.join(scratchDir, "export-pglite.csv");
    const runs: Measured<ExportRun>[] = [];
    for (let round = 0; round < RUNS; round++) runs.push(await withPeakRss(() => exportToFile(handle, file)));
    const exported = best(runs.map((run) => run.value));
    if (exported.best.rows !== PGLITE_ROWS) throw new Error(`PGlite exported ${exported.best.rows} rows`);
    console.log(`  exportAuditCsv:     ${exported.best.seconds.toFixed(2)} s (runs ${exported.all.join(", ")})`);
    const verify = await timed(() => verifyAuditChain(handle));
    if (!verify.value.ok) throw new Error("the PGlite benchmark chain does not verify");
    return {
      rows: PGLITE_ROWS,
      insertWithAppendAudit: rate(PGLITE_ROWS, insert.seconds),
      export: {
        ...rate(PGLITE_ROWS, exported.best.seconds),
        bytes: exported.best.bytes,
        runs: exported.all,
        rssBeforeMB: runs[0]!.rssBeforeMB,
        peakRssMB: Math.max(...runs.map((run) => run.peakRssMB)),
      },
      verify: rate(PGLITE_ROWS, verify.seconds),
    };
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------

function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryMB: Math.round(os.totalmem() / MB),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
    /** Others share these machines: a high load explains noisy runs. */
    loadAverage: os.loadavg().map((x) => round(x, 2)),
  };
}

async function main(): Promise<void> {
  await mkdir(scratchDir, { recursive: true });
  try {
    const server = await benchServer();
    const pglite = await benchPglite();
    const result = {
      name: "audit-export",
      machine: machine(),
      targets: TARGETS,
      met: {
        exportRowsPerSecond: server.export.rowsPerSecond >= TARGETS.exportRowsPerSecond,
        peakRssMB: server.export.peakRssMB < TARGETS.peakRssMB && server.export.maxRssMB < TARGETS.peakRssMB,
      },
      postgres: server,
      pglite,
    };
    report(result);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(path.join(resultsDir, "audit-export.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}

function report(result: {
  postgres: Awaited<ReturnType<typeof benchServer>>;
  pglite: Awaited<ReturnType<typeof benchPglite>>;
  met: Record<string, boolean>;
}): void {
  const { postgres: pg, pglite } = result;
  const n = (x: number) => x.toLocaleString("en");
  console.log(`
audit export — ${n(pg.rows)} rows on PostgreSQL ${pg.serverVersion}
  insert (JS hash chain + COPY FROM)  ${n(pg.insert.rowsPerSecond)} rows/s
  anchor psql \\copy                   ${n(pg.anchor.rowsPerSecond)} rows/s  (${pg.anchor.seconds} s, ${(pg.anchor.bytes / MB).toFixed(0)} MB)
  our COPY statement run by psql      ${n(pg.sameStatementInPsql.rowsPerSecond)} rows/s  (${pg.sameStatementInPsql.seconds} s: the server's formatting cost)
  exportAuditCsv (COPY TO STDOUT)     ${n(pg.export.rowsPerSecond)} rows/s  (${pg.export.seconds} s, ${(pg.export.bytes / MB).toFixed(0)} MB) = ${pg.export.ratioToAnchor} × anchor
    RSS ${pg.export.rssBeforeMB} MB before, peak sampled ${pg.export.peakRssMB} MB, process maxRSS ${pg.export.maxRssMB} MB
  verifyAuditChain                    ${n(pg.verify.rowsPerSecond)} rows/s  (${pg.verify.seconds} s, peak RSS ${pg.verify.peakRssMB} MB)
PGlite, ${n(pglite.rows)} rows
  appendAudit (1000 per transaction)  ${n(pglite.insertWithAppendAudit.rowsPerSecond)} rows/s
  exportAuditCsv (batched reads)      ${n(pglite.export.rowsPerSecond)} rows/s  (${pglite.export.seconds} s, RSS ${pglite.export.rssBeforeMB} MB before, peak ${pglite.export.peakRssMB} MB)
  verifyAuditChain                    ${n(pglite.verify.rowsPerSecond)} rows/s  (${pglite.verify.seconds} s)
targets met: ${JSON.stringify(result.met)}`);
}

await main();
