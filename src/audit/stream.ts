/**
 * The audit stream: every audit event delivered at least once, in order within its lane, to a
 * sink outside the database — a JSON-lines file or a signed webhook, the way SIEMs ingest logs —
 * with the signed checkpoints between them. How far each lane went is kept in the database
 * (audit_stream_cursors); a cursor moves only after the sink took the events, so a crash or a
 * failed delivery means those events are delivered again, never skipped.
 */
import { open } from "node:fs/promises";
import { sql } from "drizzle-orm";
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from "../connectors/webhook-signature.js";
import type { DbHandle, Executor } from "../db/client.js";
import { resultRows } from "../db/client.js";
import { auditStreamCursors } from "../db/schema/audit-stream.js";
import type { Checkpoint } from "./checkpoint.js";

/** One audit event as the stream carries it: the stored row, so a reader can re-verify the chain. */
export interface StreamedEvent {
  type: "event";
  id: number;
  lane: number;
  at: string;
  event: string;
  actor: string;
  subject: string | null;
  role: string | null;
  scope: string | null;
  requestId: string | null;
  activationId: string | null;
  justification: string | null;
  ticket: string | null;
  decision: string | null;
  approver: string | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type StreamRecord = StreamedEvent | Checkpoint;

/** Where the stream goes. `deliver` resolves only once the sink has the records for good. */
export interface AuditSink {
  /** Names the sink's cursors: a sink renamed starts again from the first event. */
  readonly name: string;
  deliver(records: StreamRecord[]): Promise<void>;
}

/** Appends one JSON object per line and syncs the file to disk before it counts as delivered. */
export class FileSink implements AuditSink {
  readonly name: string;
  constructor(private readonly path: string) {
    this.name = `file:${path}`;
  }

  async deliver(records: StreamRecord[]): Promise<void> {
    if (records.length === 0) return;
    const file = await open(this.path, "a", 0o600);
    try {
      await file.appendFile(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
      await file.sync();
    } finally {
      await file.close();
    }
  }
}

/**
 * POSTs `{"records": [...]}` as JSON, signed like the webhook connector (x-pim-timestamp and
 * x-pim-signature: v1=HMAC-SHA256(secret, timestamp + "." + body)); any 2xx is delivered.
 */
export class WebhookSink implements AuditSink {
  readonly name: string;
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 10_000,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.name = `webhook:${url}`;
  }

  async deliver(records: StreamRecord[]): Promise<void> {
    if (records.length === 0) return;
    const body = JSON.stringify({ records });
    const timestamp = String(Math.floor(this.now().getTime() / 1000));
    const response = await fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signWebhook(this.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`audit stream: ${this.url} answered ${response.status}`);
  }
}

/** Arbitrary but fixed: replicas take turns at streaming, so a lane is never delivered twice at once. */
export const AUDIT_STREAM_LOCK_KEY = 0x70696d20;

export interface StreamOptions {
  /** Events read per lane and delivered per call of the sink. */
  batchSize?: number;
}

/**
 * Delivers every event not yet given to the sink, oldest first, a batch at a time, moving each
 * lane's cursor after each delivery. Replicas take turns on an advisory lock. Resolves to the
 * number of events delivered; a failed delivery throws with the cursors where the sink left them.
 */
export async function streamAuditEvents(
  handle: Pick<DbHandle, "db" | "withAdvisoryLock">,
  sink: AuditSink,
  options: StreamOptions = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 1_000;
  return handle.withAdvisoryLock(AUDIT_STREAM_LOCK_KEY, async () => {
    let delivered = 0;
    for (;;) {
      const events = await pendingEvents(handle.db, sink.name, batchSize);
      if (events.length === 0) return delivered;
      await sink.deliver(events);
      await moveCursors(handle.db, sink.name, events);
      delivered += events.length;
    }
  });
}

/**
 * Up to `limit` events after the cursors, taken lane by lane (each lane in id order), all in id
 * order. Every lane is read, whether or not its head row is there.
 */
async function pendingEvents(db: Executor, sink: string, limit: number): Promise<StreamedEvent[]> {
  const rows = resultRows<Record<string, unknown>>(
    await db.execute(sql`
      select e.id, e.lane, e.at, e.event, e.actor, e.subject, e.role, e.scope, e.request_id, e.activation_id,
        e.justification, e.ticket, e.decision, e.approver, e.data, e.prev_hash, e.hash
      from (select l.lane from audit_lanes l
        union select generate_series(0, audit_lane_count() - 1)::smallint) l
      cross join lateral (
        select * from audit_events e
        where e.lane = l.lane
          and e.id > coalesce((select c.last_id from audit_stream_cursors c where c.sink = ${sink} and c.lane = l.lane), 0)
        order by e.id limit ${limit}) e
      order by e.id
      limit ${limit}`),
  );
  return rows.map(toStreamed);
}

function toStreamed(r: Record<string, unknown>): StreamedEvent {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const at = r.at instanceof Date ? r.at : new Date(String(r.at));
  return {
    type: "event",
    id: Number(r.id),
    lane: Number(r.lane),
    at: at.toISOString(),
    event: String(r.event),
    actor: String(r.actor),
    subject: text(r.subject),
    role: text(r.role),
    scope: text(r.scope),
    requestId: text(r.request_id),
    activationId: text(r.activation_id),
    justification: text(r.justification),
    ticket: text(r.ticket),
    decision: text(r.decision),
    approver: text(r.approver),
    data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

async function moveCursors(db: Executor, sink: string, events: StreamedEvent[]): Promise<void> {
  const last = new Map<number, number>();
  for (const e of events) last.set(e.lane, Math.max(last.get(e.lane) ?? 0, e.id));
  await db
    .insert(auditStreamCursors)
    .values([...last].map(([lane, lastId]) => ({ sink, lane, lastId })))
    .onConflictDoUpdate({
      target: [auditStreamCursors.sink, auditStreamCursors.lane],
      set: { lastId: sql`greatest(${auditStreamCursors.lastId}, excluded.last_id)` },
    });
}
