import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/repos/outbox.js";
import { instant } from "../db/rows.js";
import { outboxJobs } from "../db/schema/outbox.js";
import { inIds } from "./id-list.js";

export type { JobRow };

/**
 * Claims up to `limit` due jobs for one worker, oldest due first. A job is due when its time has
 * come and nobody holds a live lease on it; it is claimable only when no earlier pending job shares
 * its key, so the jobs of one holding run one at a time and in order. SKIP LOCKED lets replicas
 * claim side by side without waiting for each other or taking the same job.
 */
export async function claimJobs(
  db: Database,
  claim: { workerId: string; now: Date; leaseMs: number; limit: number },
): Promise<JobRow[]> {
  const until = new Date(claim.now.getTime() + claim.leaseMs);
  const rows = await db
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

/** Keeps this worker's claims alive while their target calls run. */
export async function extendLeases(db: Database, ids: string[], workerId: string, until: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(outboxJobs)
    .set({ lockedUntil: until })
    .where(and(inIds(outboxJobs.id, ids), eq(outboxJobs.lockedBy, workerId), eq(outboxJobs.status, "pending")));
}
