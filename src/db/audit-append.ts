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
 * One statement per chunk, whatever the number of events: the lane is chosen here (see
 * AuditLanes), each event's canonical content is written here with its lane, and the server
 * (`audit_append_on`, see the drizzle/ migrations) locks the lane's head, links each event onto
 * it with the hash verify computes (hashEvent), inserts them in order and moves the head. A
 * transaction's second append continues on the lane it already holds.
 *
 * appendAuditPipelined's `sent` settles once the last statement is on its way: from then on COMMIT
 * may be sent behind it where the driver pipelines (see src/db/unit-of-work.ts). The writes in
 * `alongside` are awaited first, so that their own checks run before anything commits.
 */
export function appendAudit(tx: Executor, entries: AuditEntry[], lanes = new AuditLanes()): Promise<void> {
  return appendAuditPipelined(tx, entries, lanes).done;
}

export function appendAuditPipelined(
  tx: Executor,
  entries: AuditEntry[],
  lanes: AuditLanes,
  alongside: readonly Promise<unknown>[] = [],
): { sent: Promise<void>; done: Promise<void> } {
  let markSent!: () => void;
  const sentMark = new Promise<void>((resolve) => {
    markSent = resolve;
  });
  const done = (async () => {
    const [lane] = await Promise.all([entries.length > 0 ? laneOf(tx, lanes) : null, ...alongside]);
    if (lane === null) {
      markSent();
      return;
    }
    const rows = entries.map((entry) => {
      const content = normalizeEntry(entry, lane);
      return { ...content, at: content.at.toISOString(), canonical: canonicalJson(content) };
    });
    for (let i = 0; i < rows.length; i += CHUNK) {
      const json = JSON.stringify(rows.slice(i, i + CHUNK));
      const written = tx.execute(sql`select lane, hash from audit_append_on(${lane}::int, ${json}::json)`);
      if (i + CHUNK >= rows.length) markSent();
      await written;
    }
  })();
  const sent = Promise.race([sentMark, done]);
  for (const settled of [done, sent]) settled.catch(() => {}); // the caller awaits one of them
  return { sent, done };
}

/** Rows per statement: one JSON parameter each, a few MB at most. */
const CHUNK = 5_000;

/** The lane a transaction appends on: the one it holds already, or one AuditLanes gives it for its life. */
const held = new WeakMap<object, number>();

async function laneOf(tx: Executor, lanes: AuditLanes): Promise<number> {
  const lane = held.get(tx) ?? (await lanes.take(tx));
  held.set(tx, lane);
  return lane;
}

/** The lane the transaction appended on, if it did. */
export function laneHeldBy(tx: Executor): number | undefined {
  return held.get(tx);
}

/**
 * Chooses lanes for a process's appends: at random among those none of its transactions holds, so
 * that its own appends never queue behind one another; another process's append on the same lane
 * is at its end, holding the lane only until its COMMIT. How many lanes there are is the
 * database's to say (audit_lane_count()), asked once. A unit of work gives its lane back when
 * its transaction ends (see src/db/unit-of-work.ts). One is built in composition.
 */
export class AuditLanes {
  private count: number | undefined;
  /** Lanes this process's transactions hold, and how many hold each (more than one only when all are held). */
  private readonly holders = new Map<number, number>();

  async take(tx: Executor): Promise<number> {
    this.count ??= resultRows<{ n: number }>(await tx.execute(sql`select audit_lane_count() as n`))[0]!.n;
    const count = this.count;
    const free: number[] = [];
    for (let lane = 0; lane < count; lane++) if (!this.holders.has(lane)) free.push(lane);
    const lane = free.length > 0 ? free[randomInt(free.length)]! : randomInt(count);
    this.holders.set(lane, (this.holders.get(lane) ?? 0) + 1);
    return lane;
  }

  release(lane: number): void {
    const held = this.holders.get(lane) ?? 0;
    if (held > 1) this.holders.set(lane, held - 1);
    else this.holders.delete(lane);
  }
}
