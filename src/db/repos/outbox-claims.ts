import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { inIds } from "../id-list.js";
import { instant } from "../rows.js";
import { activations } from "../schema/activations.js";
import { assignments } from "../schema/assignments.js";
import { outboxJobs } from "../schema/outbox.js";
import type { JobRow } from "./outbox.js";

/**
 * Claims up to `limit` due jobs for one worker, oldest due first. A job is due when its time has
 * come and nobody holds a live lease on it; it is claimable only when no earlier pending job shares
 * its key, so the jobs of one holding run one at a time and in order. SKIP LOCKED lets replicas
 * claim side by side without waiting for each other or taking the same job.
 */
export async function claimJobs(
  tx: Executor,
  claim: { workerId: string; now: Date; leaseMs: number; limit: number },
): Promise<JobRow[]> {
  const until = new Date(claim.now.getTime() + claim.leaseMs);
  const rows = await tx
    .update(outboxJobs)
    .set({ lockedBy: claim.workerId, lockedUntil: until, attempts: sql`${outboxJobs.attempts} + 1` })
    .where(
      sql`${outboxJobs.id} in (
        select j.id from ${outboxJobs} j
        where j.status = 'pending' and j.run_at <= ${instant(claim.now)}
          and (j.locked_until is null or j.locked_until < ${instant(claim.now)})
          and not exists (
            select 1 from ${outboxJobs} e
            where e.key = j.key and e.status = 'pending' and e.id <> j.id
              and (e.run_at, e.created_at, e.id) < (j.run_at, j.created_at, j.id))
        order by j.run_at, j.created_at, j.id
        limit ${claim.limit}
        for update skip locked)`,
    )
    .returning();
  return rows.sort((a, b) => +a.runAt - +b.runAt || +a.createdAt - +b.createdAt || (a.id < b.id ? -1 : 1));
}

/**
 * A claim's fencing token is the attempt number the claim gave the job: every claim adds one, so
 * a worker's id and that number name one claim and no other, even if the same worker claims the
 * job again later. Whatever a worker does to a job on the strength of a claim matches both.
 */
export interface Claim {
  id: string;
  token: number;
}

/** The jobs of these claims that `workerId` still holds. */
function heldClaims(workerId: string, claims: readonly Claim[]): SQL {
  const list = JSON.stringify(claims.map((c) => ({ id: c.id, n: c.token })));
  return and(
    eq(outboxJobs.lockedBy, workerId),
    eq(outboxJobs.status, "pending"),
    sql`(${outboxJobs.id}, ${outboxJobs.attempts}) in (
      select x.id, x.n from jsonb_to_recordset(${list}::text::jsonb) as x(id text, n integer))`,
  )!;
}

/**
 * Keeps this worker's claims alive until `until`; with `live`, only those whose lease has not run
 * out by `live` (the check right before a target call). Returns the ids still held.
 */
export async function renewClaims(
  tx: Executor,
  workerId: string,
  claims: readonly Claim[],
  until: Date,
  live?: Date,
): Promise<Set<string>> {
  if (claims.length === 0) return new Set();
  const rows = await tx
    .update(outboxJobs)
    .set({ lockedUntil: until })
    .where(
      live
        ? and(heldClaims(workerId, claims), sql`${outboxJobs.lockedUntil} > ${instant(live)}`)
        : heldClaims(workerId, claims),
    )
    .returning({ id: outboxJobs.id });
  return new Set(rows.map((r) => r.id));
}

/**
 * Gives back every pending job this worker still has a claim on (shutdown, once its calls have
 * finished), so another replica can run them at once instead of after the lease. Returns their ids.
 */
export async function releaseClaims(tx: Executor, workerId: string): Promise<string[]> {
  const rows = await tx
    .update(outboxJobs)
    .set({ lockedBy: null, lockedUntil: null })
    .where(and(eq(outboxJobs.lockedBy, workerId), eq(outboxJobs.status, "pending")))
    .returning({ id: outboxJobs.id });
  return rows.map((r) => r.id);
}

/** The activation a claimed grant is for, as it stands now. */
export interface GrantActivation {
  id: string;
  status: string;
  principalId: string;
  roleId: string;
  scope: string;
  basis: string;
}

/** The assignment a claimed grant is for, as it stands now. */
export interface GrantAssignment {
  id: string;
  kind: "eligible" | "active";
  startsAt: Date | null;
  endsAt: Date | null;
}

/*
 * The two reads below run side by side in one Promise.all: each returns the query itself, which
 * runs when awaited, and no statement at all for an empty list.
 */

/** The activations of claimed grants, by id. */
export function findGrantActivations(tx: Executor, ids: string[]): Promise<GrantActivation[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return tx
    .select({
      id: activations.id,
      status: activations.status,
      principalId: activations.principalId,
      roleId: activations.roleId,
      scope: activations.scope,
      basis: activations.basis,
    })
    .from(activations)
    .where(inIds(activations.id, ids));
}

/** The assignments of claimed grants, by id. */
export function findGrantAssignments(tx: Executor, ids: string[]): Promise<GrantAssignment[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return tx
    .select({
      id: assignments.id,
      kind: assignments.kind,
      startsAt: assignments.startsAt,
      endsAt: assignments.endsAt,
    })
    .from(assignments)
    .where(inIds(assignments.id, ids));
}

/** Marks done the jobs this worker still holds the claims of; returns their ids. */
export async function finishHeldJobs(
  tx: Executor,
  workerId: string,
  claims: readonly Claim[],
  now: Date,
): Promise<string[]> {
  if (claims.length === 0) return [];
  const rows = await tx
    .update(outboxJobs)
    .set({ status: "done", finishedAt: now, lockedBy: null, lockedUntil: null, lastError: null })
    .where(heldClaims(workerId, claims))
    .returning({ id: outboxJobs.id });
  return rows.map((r) => r.id);
}

/** Of these claims, the ids of the jobs this worker still holds, locked in id order. */
export async function lockHeldJobs(tx: Executor, workerId: string, claims: readonly Claim[]): Promise<string[]> {
  if (claims.length === 0) return [];
  const rows = await tx
    .select({ id: outboxJobs.id })
    .from(outboxJobs)
    .where(heldClaims(workerId, claims))
    .orderBy(outboxJobs.id)
    .for("update");
  return rows.map((r) => r.id);
}

/** A job given up on: failed for good, with the last error. */
export async function failJob(tx: Executor, jobId: string, error: string, now: Date): Promise<void> {
  await tx
    .update(outboxJobs)
    .set({ status: "failed", finishedAt: now, lockedBy: null, lockedUntil: null, lastError: error })
    .where(eq(outboxJobs.id, jobId));
}

/** A failed attempt: the job goes back for a claim at `runAt`, with its payload replaced when given. */
export async function retryJobAt(
  tx: Executor,
  jobId: string,
  runAt: Date,
  error: string,
  payload?: Record<string, unknown>,
): Promise<void> {
  await tx
    .update(outboxJobs)
    .set({ runAt, lockedBy: null, lockedUntil: null, lastError: error, ...(payload ? { payload } : {}) })
    .where(eq(outboxJobs.id, jobId));
}

/** The claim a worker holds on a job it claimed: the job's attempt number is its fencing token. */
export const claimOf = (job: Pick<JobRow, "id" | "attempts">): Claim => ({ id: job.id, token: job.attempts });
