/**
 * Signed checkpoints of the audit log: every lane's head and the id of the event it names, with
 * an HMAC-SHA256 under a key the database never sees (AUDIT_CHECKPOINT_KEY). Kept outside the
 * database (the audit stream carries them), a checkpoint proves what the log held at its time:
 * whoever owns the database can rewrite a lane's tail into a chain that verifies, but not into
 * one that still holds each checkpointed event with its hash.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { sql } from "drizzle-orm";
import { canonicalJson, GENESIS_HASH } from "../db/audit-append.js";
import { type Executor, resultRows } from "../db/client.js";

/** A lane's head at checkpoint time: the hash and the id of the event it names (null: no event has it). */
export interface LaneMark {
  lane: number;
  id: number | null;
  hash: string;
}

export interface Checkpoint {
  type: "checkpoint";
  /** When it was taken (ISO 8601 UTC). */
  at: string;
  /** Lanes that hold events, in lane order. */
  lanes: LaneMark[];
  /** `hmac-sha256:<hex>` over the canonical JSON of everything else. */
  signature: string;
}

const SCHEME = "hmac-sha256:";

/** Every lane head that names an event, read in one statement (one snapshot). */
export async function laneMarks(db: Executor): Promise<LaneMark[]> {
  const rows = resultRows<{ lane: number; hash: string; id: string | number | null }>(
    await db.execute(sql`
      select l.lane, l.hash,
        (select e.id from audit_events e where e.lane = l.lane and e.hash = l.hash order by e.id desc limit 1) as id
      from audit_lanes l where l.hash <> ${GENESIS_HASH} order by l.lane`),
  );
  return rows.map((r) => ({ lane: Number(r.lane), id: r.id === null ? null : Number(r.id), hash: r.hash }));
}

export async function takeCheckpoint(db: Executor, key: string, at: Date): Promise<Checkpoint> {
  return signCheckpoint(key, { type: "checkpoint", at: at.toISOString(), lanes: await laneMarks(db) });
}

export function signCheckpoint(key: string, body: Omit<Checkpoint, "signature">): Checkpoint {
  return { ...body, signature: signatureOf(key, body) };
}

function signatureOf(key: string, body: Omit<Checkpoint, "signature">): string {
  const { type, at, lanes } = body;
  return `${SCHEME}${createHmac("sha256", key).update(canonicalJson({ type, at, lanes })).digest("hex")}`;
}

export function checkpointSignatureValid(key: string, checkpoint: Checkpoint): boolean {
  const expected = Buffer.from(signatureOf(key, checkpoint));
  const given = Buffer.from(String(checkpoint.signature));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The latest checkpoint in a file: a checkpoint as JSON, or a JSON-lines audit stream (the last
 * line that is a checkpoint). A string says what is wrong with the file.
 */
export function latestCheckpoint(text: string): Checkpoint | string {
  const trimmed = text.trim();
  if (trimmed === "") return "the file is empty";
  const candidates = trimmed.startsWith("{") && !trimmed.includes("\n") ? [trimmed] : trimmed.split("\n");
  for (let i = candidates.length - 1; i >= 0; i--) {
    const line = candidates[i]!.trim();
    if (!line.includes('"checkpoint"')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return `line ${i + 1} is not JSON`;
    }
    if (isCheckpoint(parsed)) return parsed;
  }
  return "the file holds no checkpoint";
}

function isCheckpoint(value: unknown): value is Checkpoint {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.type === "checkpoint" &&
    typeof c.at === "string" &&
    typeof c.signature === "string" &&
    Array.isArray(c.lanes) &&
    c.lanes.every(
      (l: unknown) =>
        typeof l === "object" &&
        l !== null &&
        Number.isInteger((l as LaneMark).lane) &&
        typeof (l as LaneMark).hash === "string" &&
        ((l as LaneMark).id === null || Number.isSafeInteger((l as LaneMark).id)),
    )
  );
}

export type CheckpointReport =
  | { ok: true; lanes: number }
  | {
      ok: false;
      lane: number;
      /** The checkpointed event's id. */
      id: number | null;
      /** event_missing: the event is gone; event_changed: it is there with another hash or lane. */
      reason: "event_missing" | "event_changed";
      expected: string;
      found: string | null;
    };

/**
 * Whether every event a checkpoint names is still in the log with the hash it had. Together with
 * verifyAuditChain (each lane a sound chain from genesis to its head) this proves the log as of
 * the checkpoint was not rewritten: a chain that reaches a hash holds everything that hash covers.
 */
export async function compareWithCheckpoint(db: Executor, checkpoint: Checkpoint): Promise<CheckpointReport> {
  for (const mark of checkpoint.lanes) {
    if (mark.id === null) continue;
    const [row] = resultRows<{ lane: number; hash: string }>(
      await db.execute(sql`select lane, hash from audit_events where id = ${mark.id}`),
    );
    if (!row)
      return { ok: false, lane: mark.lane, id: mark.id, reason: "event_missing", expected: mark.hash, found: null };
    if (row.hash !== mark.hash || Number(row.lane) !== mark.lane)
      return { ok: false, lane: mark.lane, id: mark.id, reason: "event_changed", expected: mark.hash, found: row.hash };
  }
  return { ok: true, lanes: checkpoint.lanes.length };
}
