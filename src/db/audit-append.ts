import { createHash } from "node:crypto";
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
 * the lock on its head row (audit_lanes), so many transactions append at once instead of queueing
 * behind one lock held through every commit. Within a lane, id order is commit order (the id is
 * drawn under the lane's lock), and removing or editing any row breaks its lane's chain. How many
 * lanes there are is the database's to say (`audit_lane_count()`, see the drizzle/ migrations).
 */

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
 * described was committed. Must be called on a transaction: the lane stays locked until it ends.
 *
 * There is one way to link an event onto the chain, the one verify checks: hashEvent, here. The
 * transaction takes a lane (`audit_take_lane`, a free one at random) sent together with the
 * writes still in flight (`alongside`), so taking it costs no round trip of its own; the events
 * are hashed onto the lane's head and inserted in one statement per chunk
 * (`audit_append_chained`, which refuses rows that do not follow the head). A transaction's
 * second append continues on the lane it already holds.
 *
 * appendAuditPipelined's `sent` settles once the last statement is on its way: from then on COMMIT
 * may be sent behind it where the driver pipelines (see src/db/unit-of-work.ts).
 */
export function appendAudit(tx: Executor, entries: AuditEntry[]): Promise<void> {
  return appendAuditPipelined(tx, entries).done;
}

export function appendAuditPipelined(
  tx: Executor,
  entries: AuditEntry[],
  alongside: readonly Promise<unknown>[] = [],
): { sent: Promise<void>; done: Promise<void> } {
  let markSent!: () => void;
  const sentMark = new Promise<void>((resolve) => {
    markSent = resolve;
  });
  const done = (async () => {
    if (entries.length === 0) {
      // A write's own checks (a version that moved, say) run here: nothing commits before them.
      await Promise.all(alongside);
      markSent();
      return;
    }
    const lane = heads.get(tx) ?? takeLane(tx);
    const [head] = await Promise.all([lane, ...alongside]);
    const rows = chainOn(head, entries);
    heads.set(tx, { lane: head.lane, hash: rows[rows.length - 1]!.hash });
    for (let i = 0; i < rows.length; i += CHUNK) {
      const written = insertChained(tx, rows.slice(i, i + CHUNK));
      if (i + CHUNK >= rows.length) markSent();
      await written;
    }
  })();
  const sent = Promise.race([sentMark, done]);
  for (const settled of [done, sent]) settled.catch(() => {}); // the caller awaits one of them
  return { sent, done };
}

/** A transaction's lane and its head as the transaction has moved it. */
interface Head {
  lane: number;
  hash: string;
}
const heads = new WeakMap<object, Head>();

async function takeLane(tx: Executor): Promise<Head> {
  const [head] = resultRows<Head>(await tx.execute(sql`select lane, hash from audit_take_lane()`));
  return head!;
}

type ChainedRow = AuditContent & { prevHash: string; hash: string };

/** Links the entries onto the head, in order. */
function chainOn(head: Head, entries: AuditEntry[]): ChainedRow[] {
  let prevHash = head.hash;
  return entries.map((entry) => {
    const content = normalizeEntry(entry, head.lane);
    const hash = hashEvent(prevHash, content);
    const row = { ...content, prevHash, hash };
    prevHash = hash;
    return row;
  });
}

/** Rows per statement: one JSON parameter each, a few MB at most. */
const CHUNK = 5_000;

/**
 * Inserts chained rows and moves their lane's head through audit_append_chained (see the
 * drizzle/ migrations), which runs as the tables' owner and refuses rows that do not follow the
 * head. The rows travel as one JSON parameter, which the server unpacks many times faster than a
 * VALUES list of 16 parameters a row; ids are drawn in the order of the JSON array, so the
 * chain's order is the entries' order.
 */
async function insertChained(tx: Executor, rows: ChainedRow[]): Promise<void> {
  const json = JSON.stringify(rows.map((row) => ({ ...row, at: row.at.toISOString() })));
  await tx.execute(sql`select lane, hash from audit_append_chained(${json}::json)`);
}
