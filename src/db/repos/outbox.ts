import { sql } from "drizzle-orm";
import { type Executor, resultRows } from "../client.js";
import { outboxJobs } from "../schema/outbox.js";
import { type Claimant, claimantOf, writeBehind } from "../unit-of-work.js";

export type JobRow = typeof outboxJobs.$inferSelect;

export type { Claimant };

export type HoldingJobKind = "grant" | "revoke";

export interface HoldingJobPayload extends Record<string, unknown> {
  principalId: string;
  roleId: string;
  scope: string;
  /** When the holding should end (grants), for targets that enforce expiry themselves. */
  until: string | null;
  /** The inbound request (a click, a command) that led to it, for following it through the logs. */
  httpRequestId?: string;
}

/** Grants and revokes of one holding run one at a time, in order. */
export const holdingKey = (p: { principalId: string; roleId: string; scope: string }) =>
  `holding:${p.principalId}:${p.roleId}:${p.scope}`;

/**
 * Inserts jobs, any number in one statement, written behind (see src/db/unit-of-work.ts). Those
 * due by `now` are written already claimed by the unit's claimant, this process's worker when one
 * runs here, so that it can run them at once without a claim round trip. A job whose holding has
 * another job pending is left unclaimed, for the ordinary claim to order after that job. If the
 * claimant dies, its lease runs out and another worker takes the jobs over, as with any claim.
 * `written` gets the claimed jobs once the insert is done, before the unit commits. One JSON
 * parameter instead of nine per row: binding thousands of parameters costs more than the insert.
 */
export function insertHoldingJobs(
  tx: Executor,
  jobs: JobRow[],
  now: Date,
  written: (claimed: JobRow[]) => void = () => {},
): Promise<void> {
  if (jobs.length === 0) return Promise.resolve();
  const claimant = claimantOf(tx);
  return writeBehind(tx, insertClaiming(tx, jobs, claimant, now).then(written));
}

async function insertClaiming(tx: Executor, jobs: JobRow[], claimant: Claimant | null, now: Date): Promise<JobRow[]> {
  const records = jobs.map((j) => ({
    id: j.id,
    kind: j.kind,
    key: j.key,
    activation_id: j.activationId,
    payload: j.payload,
    run_at: j.runAt.toISOString(),
    due: j.runAt.getTime() <= now.getTime(),
  }));
  const until = claimant ? new Date(now.getTime() + claimant.leaseMs) : null;
  const inserted = resultRows<{ id: string; locked_by: string | null }>(
    await tx.execute(sql`
      insert into ${outboxJobs} (id, kind, key, activation_id, payload, run_at, locked_by, locked_until, attempts)
      select x.id, x.kind, x.key, x.activation_id, x.payload, x.run_at,
        case when c.claim then ${claimant?.workerId ?? null}::text end,
        case when c.claim then ${until?.toISOString() ?? null}::timestamptz end,
        case when c.claim then 1 else 0 end
      from jsonb_to_recordset(${JSON.stringify(records)}::text::jsonb)
        as x(id text, kind text, key text, activation_id text, payload jsonb, run_at timestamptz, due boolean)
      cross join lateral (
        select ${claimant !== null} and x.due and not exists (
          select 1 from ${outboxJobs} e where e.key = x.key and e.status = 'pending') as claim
        offset 0) c -- evaluated once per row, not once per use below
      returning id, locked_by`),
  );
  const mine = new Set(inserted.filter((r) => r.locked_by !== null).map((r) => r.id));
  return jobs
    .filter((j) => mine.has(j.id))
    .map((j) => ({ ...j, attempts: 1, lockedBy: claimant!.workerId, lockedUntil: until }));
}

/** A new pending job's row, as the database will hold it. */
export function newJobRow(job: {
  id: string;
  kind: HoldingJobKind;
  activationId: string | null;
  payload: HoldingJobPayload;
  runAt: Date;
  now: Date;
}): JobRow {
  return {
    id: job.id,
    kind: job.kind,
    key: holdingKey(job.payload),
    activationId: job.activationId,
    payload: job.payload,
    status: "pending",
    attempts: 0,
    runAt: job.runAt,
    lockedUntil: null,
    lockedBy: null,
    lastError: null,
    createdAt: job.now,
    finishedAt: null,
  };
}

/**
 * Takes back the grant of an activation whose scheduled start has not come, so nothing reaches
 * the target: true when it was still waiting untouched, false when a worker holds it already.
 */
export async function withdrawScheduledGrant(tx: Executor, activationId: string, now: Date): Promise<boolean> {
  const withdrawn = resultRows<{ id: string }>(
    await tx.execute(sql`
      update ${outboxJobs} set status = 'canceled', finished_at = ${now.toISOString()}::timestamptz
      where activation_id = ${activationId} and kind = 'grant' and status = 'pending'
        and run_at > ${now.toISOString()}::timestamptz and locked_by is null
      returning id`),
  );
  return withdrawn.length > 0;
}
