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
export const AUDIT_LANES = 32;

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
 *
 * A few events go in one statement, audit_append (see the drizzle/ migration), which takes a
 * lane, links them onto its head with the same hash verify computes here, and moves the head.
 * The caller may send COMMIT behind it without waiting (see inTransaction): should it fail, the
 * transaction is aborted and COMMIT rolls it back. Thousands of events are hashed here instead,
 * onto a lane audit_append took: one statement per chunk rather than a server loop per row.
 */
export async function appendAudit(tx: Executor, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (entries.length > FEW) {
    await insertChained(tx, await chainOn(tx, entries));
    return;
  }
  // No await before the statement is sent: a caller that commits right after may rely on it.
  const held = heads.get(tx);
  const cut = entries.map((entry) => {
    const content = normalizeEntry(entry);
    const { before, after } = aroundLane(content);
    return { ...content, at: content.at.toISOString(), before, after };
  });
  const [head] = resultRows<Head>(await tx.execute(appendStatement(cut, held?.lane ?? null)));
  heads.set(tx, head!);
}

/** Up to this many events are appended by the server function, more are hashed here. */
const FEW = 100;

/**
 * Whether appendAudit sends these entries as one statement before it waits for anything, so that
 * COMMIT may be sent behind it unawaited. More entries take a lane first, then insert: COMMIT
 * must wait for them, or the insert would run after it, outside the transaction.
 */
export function appendsInOneStatement(entries: AuditEntry[]): boolean {
  return entries.length <= FEW;
}

function appendStatement(entries: unknown[], heldLane: number | null) {
  return sql`select lane, hash from audit_append(${JSON.stringify(entries)}::json, ${randomInt(AUDIT_LANES)}::int, ${AUDIT_LANES}::int, ${heldLane}::int)`;
}

/**
 * The canonical JSON of an event cut where its lane's number goes, which only the server knows
 * when it appends: canonicalJson({ ...content, lane: n }) === before + JSON.stringify(n) + after.
 */
export function aroundLane(content: AuditContent): { before: string; after: string } {
  let before = "{";
  let after = "";
  let seenLane = false;
  let first = true;
  for (const key of Object.keys(content).sort()) {
    const item = content[key as keyof AuditContent];
    if (item === undefined) continue;
    const comma = first ? "" : ",";
    first = false;
    if (key === "lane") {
      before += `${comma}"lane":`;
      seenLane = true;
    } else if (seenLane) after += `${comma}${JSON.stringify(key)}:${canonicalJson(item)}`;
    else before += `${comma}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return { before, after: `${after}}` };
}

type ChainedRow = AuditContent & { prevHash: string; hash: string };

/** Takes a lane and links the entries onto its head, in order. */
async function chainOn(tx: Executor, entries: AuditEntry[]): Promise<ChainedRow[]> {
  const head = heads.get(tx) ?? resultRows<Head>(await tx.execute(appendStatement([], null)))[0]!;
  let prevHash = head.hash;
  const rows = entries.map((entry) => {
    const content = normalizeEntry(entry, head.lane);
    const hash = hashEvent(prevHash, content);
    const row = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
  heads.set(tx, { lane: head.lane, hash: prevHash });
  return rows;
}

/**
 * The lane a transaction holds and its head as this transaction has moved it: a transaction's
 * second append continues on the lane it already holds.
 */
interface Head {
  lane: number;
  hash: string;
}
const heads = new WeakMap<object, Head>();

/** Rows per statement: one JSON parameter each, a few MB at most. */
const CHUNK = 5_000;

/**
 * Inserts chained rows and moves their lane's head, in one statement per chunk, through
 * audit_append_chained (see the drizzle/ migration), which runs as the tables' owner and refuses
 * rows that do not follow the head. The rows travel as one JSON parameter, which the server
 * unpacks many times faster than a VALUES list of 16 parameters a row; ids are drawn in the order
 * of the JSON array, so the chain's order is the entries' order.
 */
async function insertChained(tx: Executor, chained: ChainedRow[]): Promise<void> {
  const rows = chained.map((row) => ({ ...row, at: row.at.toISOString() }));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await tx.execute(sql`select lane, hash from audit_append_chained(${JSON.stringify(chunk)}::json)`);
  }
}
