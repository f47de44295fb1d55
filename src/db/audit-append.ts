import { createHash, randomInt } from "node:crypto";
import { desc, eq, sql } from "drizzle-orm";
import { type Executor, resultRows } from "./client.js";
import { auditEvents } from "./schema/audit.js";

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
/** Serializes appenders so that each event links to the one before it. */
export const AUDIT_LOCK_KEY = 0x70696d02;

export type AuditContent = Required<Omit<AuditEntry, "data">> & { data: Record<string, unknown>; lane: number };

/**
 * The log is several hash chains ("lanes") interleaved in one table. Each lane is serialized by
 * its own advisory lock, so up to this many transactions append at once instead of queueing
 * behind one lock held through every commit. Within a lane, id order is commit order (the id is
 * drawn under the lane's lock), and removing or editing any row breaks its lane's chain.
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
 * describes was committed. Must be called on a transaction (the lock is transaction-scoped).
 */
export async function appendAudit(tx: Executor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.insert(auditEvents).values(await chainOn(tx, entries));
}

/** Takes a lane and links the entries onto its last event, in order. */
async function chainOn(tx: Executor, entries: AuditEntry[]) {
  const lane = await claimLane(tx);
  const [last] = await tx
    .select({ hash: auditEvents.hash })
    .from(auditEvents)
    .where(eq(auditEvents.lane, lane))
    .orderBy(desc(auditEvents.id))
    .limit(1);
  let prevHash = last?.hash ?? GENESIS_HASH;
  return entries.map((entry) => {
    const content = normalizeEntry(entry, lane);
    const hash = hashEvent(prevHash, content);
    const row = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
}

/** The lane a transaction appends to, kept for its life: a second append must not take another. */
const lanes = new WeakMap<object, number>();

/**
 * Takes a lane's lock for the rest of the transaction. The last hash must be read by a later statement so that it sees the
 * previous holder's commit: true under READ COMMITTED (a snapshot per statement), false under
 * REPEATABLE READ, whose snapshot predates the wait and would fork the chain without an error.
 * SERIALIZABLE is let through: the stale read conflicts with the concurrent append, so one of
 * the two transactions fails with a serialization error for the caller to retry (the chain
 * holds, at the price of many retries when appenders contend).
 */
async function claimLane(tx: Executor): Promise<number> {
  const held = lanes.get(tx);
  if (held !== undefined) return held;
  const offset = randomInt(AUDIT_LANES);
  // The first free lane, tried from a random start so that appenders spread out.
  const free = resultRows<{ lane: number; isolation: string }>(
    await tx.execute(sql`
      select ((l + ${offset}) % ${AUDIT_LANES})::int as lane, current_setting('transaction_isolation') as isolation
      from generate_series(0, ${AUDIT_LANES - 1}) as l
      where pg_try_advisory_xact_lock(${AUDIT_LOCK_KEY}, ((l + ${offset}) % ${AUDIT_LANES})::int)
      limit 1`),
  )[0];
  let lane = free?.lane;
  let isolation = free?.isolation;
  if (lane === undefined) {
    // Every lane is busy: queue on one.
    const [row] = resultRows<{ isolation: string }>(
      await tx.execute(
        sql`select current_setting('transaction_isolation') as isolation from pg_advisory_xact_lock(${AUDIT_LOCK_KEY}, ${offset}::int)`,
      ),
    );
    lane = offset;
    isolation = row?.isolation;
  }
  if (isolation === "repeatable read") {
    throw Object.assign(new Error("appendAudit cannot run in a REPEATABLE READ transaction: it would fork the chain"), {
      code: "AUDIT_ISOLATION",
    });
  }
  lanes.set(tx, lane);
  return lane;
}

/** Rows per statement of appendAuditBulk: one JSON parameter each, a few MB at most. */
const BULK_CHUNK = 5_000;

/**
 * appendAudit for thousands of events in one transaction (an access review closing over 50,000
 * assignments): the same lane, chain and hashes, but the rows travel as one JSON parameter per
 * chunk, which the server unpacks many times faster than a VALUES list of 16 parameters a row.
 * Ids are drawn in the order of the JSON array, so the chain's order is the entries' order.
 */
export async function appendAuditBulk(tx: Executor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = (await chainOn(tx, entries)).map((row) => ({ ...row, at: row.at.toISOString() }));
  for (let i = 0; i < rows.length; i += BULK_CHUNK) {
    const chunk = JSON.stringify(rows.slice(i, i + BULK_CHUNK));
    await tx.execute(sql`
      insert into audit_events (lane, at, event, actor, subject, role, scope, request_id, activation_id,
        justification, ticket, decision, approver, data, prev_hash, hash)
      select x.lane, x.at, x.event, x.actor, x.subject, x.role, x.scope, x."requestId", x."activationId",
        x.justification, x.ticket, x.decision, x.approver, x.data, x."prevHash", x.hash
      from rows from (json_to_recordset(${chunk}::json) as (lane smallint, at timestamptz, event text,
        actor text, subject text, role text, scope text, "requestId" text, "activationId" text,
        justification text, ticket text, decision text, approver text, data jsonb, "prevHash" text, hash text))
        with ordinality as x(lane, at, event, actor, subject, role, scope, "requestId", "activationId",
        justification, ticket, decision, approver, data, "prevHash", hash, n)
      order by x.n`);
  }
}
