import type { Readable } from "node:stream";
import { and, asc, eq, gt, gte, inArray, lt, lte, max, or, type SQL, sql } from "drizzle-orm";
import type postgres from "postgres";
import { type AuditContent, GENESIS_HASH, hashEvent } from "./audit-append.js";
import type { DbHandle, Executor } from "./client.js";
import { auditEvents, auditLanes } from "./schema/audit.js";

/**
 * Reading the audit log: filtered queries, the chain verification, and the CSV export.
 * Writing it is audit-append.ts's job.
 */

export type AuditRow = typeof auditEvents.$inferSelect;

export interface AuditFilter {
  /** Events at or after this instant. */
  from?: Date;
  /** Events strictly before this instant, so that consecutive windows never overlap. */
  to?: Date;
  /** Matches the actor, the subject or the approver. */
  principal?: string;
  role?: string;
  /** One event name, or any of several (an empty list matches nothing). */
  event?: string | string[];
  requestId?: string;
  /** At most this many rows. */
  limit?: number;
  /** Only events after this id: pass the last id of one page to get the next. */
  afterId?: number;
}

/** `checked` counts the rows found sound: all of them, or those before the first broken link. */
export type AuditChainReport =
  | { ok: true; checked: number; lastHash: string }
  | { ok: false; checked: number; brokenAt: BrokenLink };

export interface BrokenLink {
  id: number;
  /**
   * hash_mismatch: the row's content was changed after it was written.
   * prev_mismatch: the row does not follow the row before it (one was deleted, or rewritten and rehashed).
   * missing_predecessor: the first row does not start the chain (rows were deleted from the start).
   * missing_tail: a lane's head names an event that is not there (rows were cut from its end);
   *   `id` is the last event left in that lane (0 if none), `expected` the head's hash.
   * head_not_last: a lane's head is not its last event (events were added behind the append
   *   function's back, or the head was set back); `id` is the lane's last event, `expected` the
   *   head's hash, `found` the last event's.
   */
  reason: "hash_mismatch" | "prev_mismatch" | "missing_predecessor" | "missing_tail" | "head_not_last";
  expected: string;
  found: string;
}

export interface BatchOptions {
  /** Rows read per round trip; memory stays proportional to it, whatever the table's size. */
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 5000;

/** Matching events in id order (the order they were written). */
export async function queryAudit(executor: Executor, filter: AuditFilter = {}): Promise<AuditRow[]> {
  checkFilter(filter);
  const query = executor
    .select()
    .from(auditEvents)
    .where(auditConditions(filter))
    .orderBy(asc(auditEvents.id))
    .$dynamic();
  return filter.limit === undefined ? await query : await query.limit(filter.limit);
}

/**
 * Walks the whole log in id order, a batch at a time, recomputing every hash and checking that
 * every row names its predecessor's hash, then that each lane's head is its lane's last event.
 * Reports the first broken link. It reads one snapshot (a read-only REPEATABLE READ transaction),
 * so heads and events agree however many appends commit meanwhile, and it always ends.
 */
export async function verifyAuditChain(
  handle: Pick<DbHandle, "db">,
  options: BatchOptions = {},
): Promise<AuditChainReport> {
  return handle.db.transaction((tx) => verifyInSnapshot(tx, options), {
    isolationLevel: "repeatable read",
    accessMode: "read only",
  });
}

async function verifyInSnapshot(db: Executor, options: BatchOptions): Promise<AuditChainReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const heads = await laneHeads(db);
  const unseenHeads = new Map([...heads].filter(([, hash]) => hash !== GENESIS_HASH));
  const untilId = (await lastAuditId(db)) ?? 0;
  const readAfter = (afterId: number) => readChainBatch(db, afterId, untilId, batchSize);
  // The last hash and id of each lane; every lane is a chain of its own, interleaved by id.
  const lastOfLane = new Map<number, string>();
  const lastIdOfLane = new Map<number, number>();
  let lastHash = GENESIS_HASH;
  let checked = 0;
  // bigserial ids start at 1.
  let next: Promise<AuditRow[]> | null = readAfter(0);
  while (next) {
    const rows: AuditRow[] = await next;
    // The server reads the next batch while this one is hashed.
    next = rows.length === batchSize ? readAfter(rows[rows.length - 1]!.id) : null;
    for (const row of rows) {
      const prev = lastOfLane.get(row.lane);
      const broken = checkLink(row, prev ?? GENESIS_HASH, prev === undefined);
      if (broken) {
        next?.catch(() => {});
        return { ok: false, checked, brokenAt: broken };
      }
      lastOfLane.set(row.lane, row.hash);
      lastIdOfLane.set(row.lane, row.id);
      if (unseenHeads.get(row.lane) === row.hash) unseenHeads.delete(row.lane);
      lastHash = row.hash;
      checked++;
    }
  }
  for (const [lane, head] of [...heads].sort(([a], [b]) => a - b)) {
    const last = lastOfLane.get(lane) ?? GENESIS_HASH;
    if (head === last) continue;
    const reason = unseenHeads.has(lane) ? ("missing_tail" as const) : ("head_not_last" as const);
    return { ok: false, checked, brokenAt: { id: lastIdOfLane.get(lane) ?? 0, reason, expected: head, found: last } };
  }
  return { ok: true, checked, lastHash };
}

/** Each lane's head (the genesis hash for a lane never appended to). */
async function laneHeads(executor: Executor): Promise<Map<number, string>> {
  const rows = await executor.select().from(auditLanes);
  return new Map(rows.map((r) => [r.lane, r.hash]));
}

/**
 * Streams matching events as CSV (RFC 4180, UTF-8, "\n" line ends) with a header row, in
 * constant memory, waiting for 'drain' whenever `out` asks to. Does not end `out`.
 *
 * Columns: time (ISO 8601 UTC with milliseconds), event, actor, subject, role, scope,
 * justification, ticket, decision, approver, request_id, activation_id, hash. An empty cell is
 * a missing value; an empty text is written as "".
 *
 * Auditors open these files in spreadsheets, which run a cell starting with = + - @ as a formula
 * (some also after a leading tab or carriage return). So that a justification such as
 * `=HYPERLINK(...)` stays text, a text cell starting with any of these six characters is written
 * with a ' in front (OWASP's advice against CSV injection). The file is for reading: the stored
 * rows, and verifyAuditChain, keep the text as it was written.
 *
 * With a postgres.js client (`handle.sql`) the server formats the rows itself (COPY TO STDOUT);
 * without one (PGlite) rows are read in id-ordered batches and formatted here. Both give the
 * same bytes for the same rows.
 */
export async function exportAuditCsv(
  handle: Pick<DbHandle, "db" | "sql">,
  filter: AuditFilter,
  out: NodeJS.WritableStream,
  options: BatchOptions = {},
): Promise<{ rows: number }> {
  checkFilter(filter);
  const sink = new Sink(out);
  try {
    const rows = handle.sql
      ? await exportWithCopy(handle.sql, auditCsvCopyStatement(handle.db, filter), sink)
      : await exportByBatches(handle.db, filter, sink, options.batchSize ?? DEFAULT_BATCH_SIZE);
    return { rows };
  } finally {
    sink.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Filters

function checkFilter(filter: AuditFilter): void {
  for (const [name, value] of [
    ["limit", filter.limit],
    ["afterId", filter.afterId],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new RangeError(`audit filter: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  for (const [name, value] of [
    ["from", filter.from],
    ["to", filter.to],
  ] as const) {
    if (value !== undefined && Number.isNaN(value.getTime()))
      throw new RangeError(`audit filter: ${name} is not a date`);
  }
}

/** The filter as a WHERE condition; `untilId` bounds a batched read to the rows present when it began. */
function auditConditions(filter: AuditFilter, untilId?: number): SQL | undefined {
  const { from, to, principal, role, event, requestId, afterId } = filter;
  return and(
    from && gte(auditEvents.at, from),
    to && lt(auditEvents.at, to),
    principal === undefined
      ? undefined
      : or(eq(auditEvents.actor, principal), eq(auditEvents.subject, principal), eq(auditEvents.approver, principal)),
    role === undefined ? undefined : eq(auditEvents.role, role),
    event === undefined
      ? undefined
      : Array.isArray(event)
        ? inArray(auditEvents.event, event)
        : eq(auditEvents.event, event),
    requestId === undefined ? undefined : eq(auditEvents.requestId, requestId),
    afterId === undefined ? undefined : gt(auditEvents.id, afterId),
    untilId === undefined ? undefined : lte(auditEvents.id, untilId),
  );
}

async function lastAuditId(executor: Executor): Promise<number | null> {
  const [row] = await executor.select({ id: max(auditEvents.id) }).from(auditEvents);
  return row?.id ?? null;
}

// ---------------------------------------------------------------------------------------------
// Verification

function readChainBatch(executor: Executor, afterId: number, untilId: number, limit: number): Promise<AuditRow[]> {
  return executor
    .select()
    .from(auditEvents)
    .where(and(gt(auditEvents.id, afterId), lte(auditEvents.id, untilId)))
    .orderBy(asc(auditEvents.id))
    .limit(limit);
}

function checkLink(row: AuditRow, prevHash: string, isFirst: boolean): BrokenLink | null {
  if (row.prevHash !== prevHash) {
    const reason = isFirst ? "missing_predecessor" : "prev_mismatch";
    return { id: row.id, reason, expected: prevHash, found: row.prevHash };
  }
  const expected = hashEvent(row.prevHash, contentOf(row));
  if (expected !== row.hash) return { id: row.id, reason: "hash_mismatch", expected, found: row.hash };
  return null;
}

/** The hashed part of a row: every column but id, prev_hash and hash. */
function contentOf(row: AuditRow): AuditContent {
  const { id: _id, prevHash: _prevHash, hash: _hash, ...content } = row;
  return content;
}

// ---------------------------------------------------------------------------------------------
// CSV: the rules, written once for the JavaScript formatter and once in SQL for COPY

/** Text cells a spreadsheet would read as a formula when they start with one of these. */
const FORMULA_TRIGGERS = ["=", "+", "-", "@", "\t", "\r"];

/** The text columns between `time` and `hash`, in export order, keyed by their CSV header. */
const CSV_TEXT_COLUMNS = {
  event: auditEvents.event,
  actor: auditEvents.actor,
  subject: auditEvents.subject,
  role: auditEvents.role,
  scope: auditEvents.scope,
  justification: auditEvents.justification,
  ticket: auditEvents.ticket,
  decision: auditEvents.decision,
  approver: auditEvents.approver,
  request_id: auditEvents.requestId,
  activation_id: auditEvents.activationId,
};
type CsvTextColumn = keyof typeof CSV_TEXT_COLUMNS;
const CSV_TEXT_NAMES = Object.keys(CSV_TEXT_COLUMNS) as CsvTextColumn[];

const CSV_HEADER = `${["time", ...CSV_TEXT_NAMES, "hash"].join(",")}\n`;

// ---------------------------------------------------------------------------------------------
// CSV on the real server: COPY (SELECT …) TO STDOUT

/**
 * The `COPY … TO STDOUT` statement exportAuditCsv runs on the server, for anyone who wants the
 * same file from psql (`psql -c "<statement>" > audit.csv`). COPY cannot take bind parameters,
 * so the filter's values are inlined as escaped literals.
 */
export function auditCsvCopyStatement(db: Executor, filter: AuditFilter): string {
  checkFilter(filter);
  const query = db
    .select(csvSelection())
    .from(auditEvents)
    .where(auditConditions(filter))
    .orderBy(asc(auditEvents.id))
    .$dynamic();
  const select = (filter.limit === undefined ? query : query.limit(filter.limit)).toSQL();
  return `copy (${inlineParams(select.sql, select.params)}) to stdout with (format csv, header)`;
}

function csvSelection() {
  const time = sql<string>`to_char(${auditEvents.at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as("time");
  // ascii() gives the first character's code: comparing integers costs the server about half
  // what comparing left(col, 1) as text does, and this runs for 11 columns of every row.
  const triggers = sql.raw(FORMULA_TRIGGERS.map((c) => c.codePointAt(0)).join(", "));
  const text = Object.fromEntries(
    CSV_TEXT_NAMES.map((name) => {
      const column = CSV_TEXT_COLUMNS[name];
      return [
        name,
        sql<string>`case when ascii(${column}) in (${triggers}) then '''' || ${column} else ${column} end`.as(name),
      ];
    }),
  );
  return { time, ...text, hash: auditEvents.hash };
}

/** Replaces $1, $2… in one pass, so a value that itself contains "$2" is never touched again. */
function inlineParams(text: string, params: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_match, n: string) => sqlLiteral(params[Number(n) - 1]));
}

/**
 * An escape-string literal (E'…') means the same whatever standard_conforming_strings says:
 * doubling backslashes and quotes is all the escaping it needs.
 */
function sqlLiteral(value: unknown): string {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value === "string") {
    if (value.includes("\0")) throw new RangeError("audit filter: text cannot contain a NUL character");
    return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  }
  throw new TypeError(`audit filter: cannot inline a ${typeof value} into COPY`);
}

/**
 * postgres.js gives COPY's output as a readable stream. If the destination fails we must still
 * read the stream to its end: a stream left unread keeps its pooled connection paused forever,
 * and postgres.js's cancel cannot be awaited, so it could hit whichever query runs next.
 */
async function exportWithCopy(client: postgres.Sql, statement: string, sink: Sink): Promise<number> {
  const copy = await client.unsafe(statement).readable();
  copy.once("close", () => unpauseConnection(copy));
  try {
    const records = await forwardCopy(copy, sink);
    return records - 1; // the header
  } catch (error) {
    await discardRest(copy);
    throw error;
  }
}

/** Writes COPY's output to the sink in batches, pausing the stream while the sink is busy; resolves to the CSV records seen. */
function forwardCopy(copy: Readable, sink: Sink): Promise<number> {
  const batch = new ChunkBatch();
  const counter = new CsvRecordCounter();
  const writeBatch = async () => {
    const data = batch.take();
    counter.count(data);
    if (data.length > 0) await sink.write(data);
  };
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      copy.off("data", onData);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      if (!batch.add(chunk)) return;
      copy.pause();
      writeBatch().then(() => copy.resume(), fail);
    };
    copy.on("data", onData);
    copy.once("end", () => writeBatch().then(() => resolve(counter.records), fail));
    copy.once("error", fail);
  });
}

async function discardRest(copy: Readable): Promise<void> {
  if (copy.destroyed) return;
  copy.removeAllListeners("data");
  copy.on("error", () => {});
  const closed = new Promise((resolve) => copy.once("close", resolve));
  copy.resume();
  await closed;
}

/**
 * postgres.js pauses the connection's socket whenever the stream's buffer is full and resumes it
 * from the stream's next read. If COPY's last messages arrive in that state, no read ever comes
 * and the pooled connection hangs for good (porsager/postgres#499, fix proposed in #1016).
 * The stream's read hook is what resumes the socket, so calling it once the stream is closed
 * gives the connection back; on a socket that is already flowing it does nothing.
 */
function unpauseConnection(copy: Readable): void {
  copy._read(0);
}

/**
 * COPY sends one CopyData message per row, but nothing promises that a stream chunk is exactly
 * one row, so records are counted by their line ends outside quoted values.
 */
class CsvRecordCounter {
  records = 0;
  private quoted = false;

  count(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const quote = chunk.indexOf(QUOTE, at);
      const end = quote === -1 ? chunk.length : quote;
      if (!this.quoted) this.records += countNewlines(chunk.subarray(at, end));
      if (quote === -1) return;
      // An escaped quote ("") flips the state twice, leaving it as it was.
      this.quoted = !this.quoted;
      at = quote + 1;
    }
  }
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// CSV in JavaScript (PGlite): id-ordered batches

async function exportByBatches(db: Executor, filter: AuditFilter, sink: Sink, batchSize: number): Promise<number> {
  await sink.write(CSV_HEADER);
  // Rows appended during the export are not part of it, as with COPY's single snapshot.
  const untilId = await lastAuditId(db);
  const wanted = filter.limit ?? Number.POSITIVE_INFINITY;
  let written = 0;
  let afterId = filter.afterId ?? 0;
  while (untilId !== null && written < wanted) {
    const limit = Math.min(batchSize, wanted - written);
    const rows = await readCsvBatch(db, { ...filter, afterId, limit }, untilId);
    if (rows.length > 0) await sink.write(rows.map(formatCsvRecord).join(""));
    written += rows.length;
    if (rows.length < limit) break;
    afterId = rows[rows.length - 1]!.id;
  }
  return written;
}

function readCsvBatch(db: Executor, filter: AuditFilter & { limit: number }, untilId: number) {
  return db
    .select({ id: auditEvents.id, at: auditEvents.at, ...CSV_TEXT_COLUMNS, hash: auditEvents.hash })
    .from(auditEvents)
    .where(auditConditions(filter, untilId))
    .orderBy(asc(auditEvents.id))
    .limit(filter.limit);
}

type CsvRow = { at: Date; hash: string } & Record<CsvTextColumn, string | null>;

function formatCsvRecord(row: CsvRow): string {
  let line = csvField(row.at.toISOString());
  for (const name of CSV_TEXT_NAMES) line += `,${csvField(neutralizeFormula(row[name]))}`;
  return `${line},${csvField(row.hash)}\n`;
}

function neutralizeFormula(value: string | null): string | null {
  return value !== null && FORMULA_TRIGGERS.includes(value.charAt(0)) ? `'${value}` : value;
}

const NEEDS_QUOTES = /[",\n\r]/;

/** Quotes as PostgreSQL's COPY does: only when needed, and always for an empty text (vs. a missing value). */
function csvField(value: string | null): string {
  if (value === null) return "";
  if (value !== "" && !NEEDS_QUOTES.test(value)) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

// ---------------------------------------------------------------------------------------------
// Writing to the caller's stream

/** Gathers COPY's row-sized chunks into writes of about this size: a write per row would cost more than the row. */
const BATCH_BYTES = 64 * 1024;

class ChunkBatch {
  private chunks: Buffer[] = [];
  private size = 0;

  /** Keeps a chunk; true when enough has gathered to write. */
  add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return this.size >= BATCH_BYTES;
  }

  take(): Buffer {
    const data = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return data;
  }
}

/**
 * The caller's stream, written with backpressure. An error the stream emits between our writes
 * is remembered and thrown at the next one, rather than left to crash the process.
 */
class Sink {
  private failure: unknown = null;
  private readonly onError = (error: unknown) => {
    this.failure ??= error;
  };

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on("error", this.onError);
  }

  async write(data: string | Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(data)) await drained(this.out);
    if (this.failure) throw this.failure;
  }

  release(): void {
    this.out.off("error", this.onError);
  }
}

/** Resolves on 'drain'; a stream that closes or fails first will never drain. */
function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: unknown) => {
      out.off("drain", onDrain);
      out.off("error", onError);
      out.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: unknown) => settle(error);
    const onClose = () => settle(new Error("audit export: the destination closed before the export ended"));
    out.on("drain", onDrain);
    out.on("error", onError);
    out.on("close", onClose);
  });
}
