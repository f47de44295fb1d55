import { createHash, randomInt } from "node:crypto";
import { sql } from "drizzle-orm";
import { type Executor, resultRows } from "./client.js";

/** What a caller records; `at` comes from the injected clock, never from the database. */
export interface AuditEntry {
  at: Date;
  event: string;
  /** Principal key of who did it, or "system". */
  actor: string;
  subject?: string | null;
  role?: string | null;
  scope?: string | null;
  requestId?: string | null;
  activationId?: string | null;
  justification?: string | null;
  ticket?: string | null;
  decision?: string | null;
  approver?: string | null;
  data?: Record<string, unknown>;
}

export const GENESIS_HASH = "0".repeat(64);
export type AuditContent = Required<Omit<AuditEntry, "data">> & { data: Record<string, unknown>; lane: number };

/**
 * The log is several hash chains ("lanes") interleaved in one table. Each lane is serialized by
 * the lock on its head row (audit_lanes), so up to this many transactions append at once instead
 * of queueing behind one lock held through every commit. Within a lane, id order is commit order
 * (the id is drawn under the lane's lock), and removing or editing any row breaks its lane's
 * chain. The migration that creates the heads makes this many of them.
 */
export const AUDIT_LANES = 8;

/**
 * The content exactly as the database will hand it back, so that the hash computed now is the
 * hash a later verify recomputes from the stored row.
 */
export function normalizeEntry(entry: AuditEntry, lane = 0): AuditContent {
  return {
    lane,
    at: entry.at,
    event: storedText(entry.event),
    actor: storedText(entry.actor),
    subject: storedTextOrNull(entry.subject),
    role: storedTextOrNull(entry.role),
    scope: storedTextOrNull(entry.scope),
    requestId: storedTextOrNull(entry.requestId),
    activationId: storedTextOrNull(entry.activationId),
    justification: storedTextOrNull(entry.justification),
    ticket: storedTextOrNull(entry.ticket),
    decision: storedTextOrNull(entry.decision),
    approver: storedTextOrNull(entry.approver),
    data: storedJson(entry.data ?? {}),
  };
}

/**
 * Both drivers encode text as UTF-8, which silently turns a lone surrogate (a string cut in the
 * middle of an emoji, say) into U+FFFD; doing it first keeps the hash equal to the stored text.
 */
function storedText(value: string): string {
  return LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATE_ALL, "\uFFFD") : value;
}

const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_ALL = /\p{Cs}/gu;

function storedTextOrNull(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : storedText(value);
}

/**
 * jsonb keeps only what JSON can say: undefined members vanish, undefined array items become
 * null, Dates become strings. Round-tripping through JSON gives the value a later read returns.
 */
function storedJson(data: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(data), (_key, value) => (typeof value === "string" ? storedText(value) : value));
}

/** The hash of an event: SHA-256 over the previous hash and the event's canonical JSON. */
export function hashEvent(prevHash: string, content: AuditContent): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(content)).digest("hex");
}

/**
 * JSON with object keys sorted at every depth and dates as ISO strings with milliseconds.
 * Members whose value is undefined are left out and undefined array items written as null, as
 * JSON.stringify does. Loops rather than map/filter: verification runs this once per row.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += `${i > 0 ? "," : ""}${canonicalJson(value[i] ?? null)}`;
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = "{";
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length > 1 ? "," : ""}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/**
 * Appends events inside the caller's transaction, so an event exists exactly when the change it
 * describes was committed. Must be called on a transaction (the lane stays locked until it ends).
 * Two statements: take a lane with its last hash, then insert the events and move the head.
 */
export async function appendAudit(tx: Executor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await insertChained(tx, await chainOn(tx, entries));
}

/**
 * For thousands of events in one transaction (an access review closing over 50,000 assignments):
 * appendAudit already sends them a chunk of thousands per statement.
 */
export const appendAuditBulk = appendAudit;

type ChainedRow = AuditContent & { prevHash: string; hash: string };

/** Takes a lane and links the entries onto its head, in order. */
async function chainOn(tx: Executor, entries: AuditEntry[]): Promise<ChainedRow[]> {
  const head = await claimLane(tx);
  let prevHash = head.hash;
  const rows = entries.map((entry) => {
    const content = normalizeEntry(entry, head.lane);
    const hash = hashEvent(prevHash, content);
    const row = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
  head.hash = prevHash;
  return rows;
}

/** The lane a transaction appends to and its head as this transaction has moved it. */
interface Head {
  lane: number;
  hash: string;
}
const heads = new WeakMap<object, Head>();

/**
 * Locks a lane's head row for the rest of the transaction and reads its hash, in one statement:
 * the first free lane, tried from a random start so that appenders spread out, or, when every
 * lane is taken, a wait on one. A row lock taken under READ COMMITTED returns the row as its last
 * holder committed it, even if that commit came after the statement began, so the chain never
 * forks. REPEATABLE READ would make that an error, so it is refused up front with a clear one;
 * SERIALIZABLE is let through: a conflicting append fails with a serialization error to retry.
 * A transaction's second append continues on the lane it already holds.
 */
async function claimLane(tx: Executor): Promise<Head> {
  const held = heads.get(tx);
  if (held) return held;
  const offset = randomInt(AUDIT_LANES);
  type Row = { lane: number; hash: string; isolation: string };
  let [row] = resultRows<Row>(
    await tx.execute(sql`
      select lane::int as lane, hash, current_setting('transaction_isolation') as isolation
      from audit_lanes
      order by (lane + ${offset}) % ${AUDIT_LANES}
      limit 1
      for update skip locked`),
  );
  const wait = async () =>
    resultRows<Row>(
      await tx.execute(sql`
        select lane::int as lane, hash, current_setting('transaction_isolation') as isolation
        from audit_lanes where lane = ${offset} for update`),
    )[0];
  if (!row) row = await wait();
  if (!row) {
    // The heads were emptied behind the log's back (a restore that skipped them, say): each
    // starts again from its lane's last stored event.
    await tx.execute(sql`
      insert into audit_lanes (lane, hash)
      select l, coalesce((select e.hash from audit_events e where e.lane = l order by e.id desc limit 1), ${GENESIS_HASH})
      from generate_series(0, ${AUDIT_LANES - 1}) as l
      on conflict (lane) do nothing`);
    row = await wait();
  }
  if (!row) throw new Error("the audit log has no lane to append to");
  if (row.isolation === "repeatable read") {
    throw Object.assign(new Error("appendAudit cannot run in a REPEATABLE READ transaction: it would fork the chain"), {
      code: "AUDIT_ISOLATION",
    });
  }
  const head = { lane: row.lane, hash: row.hash };
  heads.set(tx, head);
  return head;
}

/** Rows per statement: one JSON parameter each, a few MB at most. */
const CHUNK = 5_000;

/**
 * Inserts chained rows and moves their lane's head, in one statement per chunk. The rows travel
 * as one JSON parameter, which the server unpacks many times faster than a VALUES list of 16
 * parameters a row; ids are drawn in the order of the JSON array, so the chain's order is the
 * entries' order.
 */
async function insertChained(tx: Executor, chained: ChainedRow[]): Promise<void> {
  const rows = chained.map((row) => ({ ...row, at: row.at.toISOString() }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const last = chunk[chunk.length - 1]!;
    await tx.execute(sql`
      with head as (update audit_lanes set hash = ${last.hash} where lane = ${last.lane})
      insert into audit_events (lane, at, event, actor, subject, role, scope, request_id, activation_id,
        justification, ticket, decision, approver, data, prev_hash, hash)
      select x.lane, x.at, x.event, x.actor, x.subject, x.role, x.scope, x."requestId", x."activationId",
        x.justification, x.ticket, x.decision, x.approver, x.data, x."prevHash", x.hash
      from rows from (json_to_recordset(${JSON.stringify(chunk)}::json) as (lane smallint, at timestamptz, event text,
        actor text, subject text, role text, scope text, "requestId" text, "activationId" text,
        justification text, ticket text, decision text, approver text, data jsonb, "prevHash" text, hash text))
        with ordinality as x(lane, at, event, actor, subject, role, scope, "requestId", "activationId",
        justification, ticket, decision, approver, data, "prevHash", hash, n)
      order by x.n`);
  }
}
