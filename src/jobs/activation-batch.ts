import { and, asc, eq, lte, sql } from "drizzle-orm";
import { activationAudit, type EngineDeps, inTransaction, type Work } from "../app/context.js";
import { newId } from "../app/ids.js";
import { type StoredActivation, toActivation } from "../db/repos/activations.js";
import { resultRows } from "../db/repos/directory.js";
import { holdingKey } from "../db/repos/outbox.js";
import { activations } from "../db/schema/activations.js";
import { outboxJobs } from "../db/schema/outbox.js";
import { beginEnd, confirmRevoke, type In } from "../domain/activation.js";
import { withBatchedAudit } from "./batch-audit.js";
import { principalKeys, roleTargets } from "./holding-check.js";
import { inIds } from "./id-list.js";
import type { JobRow } from "./outbox-claim.js";

/**
 * Set-at-a-time versions of two transitions the sweep and the worker make by the thousand:
 * active → ending (expiry) and ending → ended (revoke confirmed). The transitions themselves are
 * the domain's; what differs from the one-by-one use cases is only that each statement carries
 * a whole batch, so 1,000 activations ending in the same second cost a few round trips, not thousands.
 */

/**
 * Ends up to `limit` activations whose time is up, oldest first, and enqueues their revokes, in
 * one transaction. Rows another replica is already ending are skipped, never waited for.
 */
export async function expireDueBatch(deps: EngineDeps, limit: number): Promise<number> {
  return (await endDueBatch(deps, limit, null)).ended;
}

/** Who takes the revokes of a batch it ends, as a claim would: the worker's id and lease. */
export interface Claimant {
  workerId: string;
  leaseMs: number;
}

/**
 * expireDueBatch, with the revokes written already claimed by `claimant`, so it can run them at
 * once without a claim round trip. A revoke whose holding has another job pending is left
 * unclaimed, for the ordinary claim to order after that job. If the claimant dies, its lease
 * runs out and another worker takes the revokes over, as with any claim.
 */
export async function expireAndClaimBatch(
  deps: EngineDeps,
  limit: number,
  claimant: Claimant,
): Promise<{ ended: number; claimed: JobRow[] }> {
  return endDueBatch(deps, limit, claimant);
}

async function endDueBatch(
  deps: EngineDeps,
  limit: number,
  claimant: Claimant | null,
): Promise<{ ended: number; claimed: JobRow[] }> {
  return inTransaction(deps, (unit) =>
    withBatchedAudit(unit, async (work) => {
      const rows = await work.tx
        .select()
        .from(activations)
        .where(and(eq(activations.status, "active"), lte(activations.endsAt, work.now)))
        .orderBy(asc(activations.endsAt), asc(activations.id))
        .limit(limit)
        .for("update", { skipLocked: true });
      const ending: { before: StoredActivation; after: In<"ending"> }[] = [];
      for (const row of rows) {
        const before = toActivation(row);
        const after = beginEnd(before, "expired", "system", work.now);
        if (after.ok) ending.push({ before, after: after.value });
      }
      if (ending.length === 0) return { ended: 0, claimed: [] };
      await work.tx
        .update(activations)
        .set({ status: "ending", reason: "expired", closedBy: "system", version: incremented() })
        .where(
          and(
            inIds(
              activations.id,
              ending.map((e) => e.before.id),
            ),
            eq(activations.status, "active"),
          ),
        );
      await auditTransitions(work, ending);
      // A revoke is due from the moment its activation ended, so the oldest are revoked first.
      const jobs: JobRow[] = ending.map(({ after }) => {
        const payload = { principalId: after.principalId, roleId: after.roleId, scope: after.scope, until: null };
        return {
          id: newId("job"),
          kind: "revoke",
          key: holdingKey(payload),
          activationId: after.id,
          payload,
          status: "pending",
          attempts: 0,
          runAt: after.endsAt,
          lockedUntil: null,
          lockedBy: null,
          lastError: null,
          createdAt: work.now,
          finishedAt: null,
        };
      });
      const claimed = await insertRevokes(work, jobs, claimant);
      if (claimed.length < jobs.length)
        work.emit({ type: "holding.job", jobId: jobs[0]!.id, runAt: ending[0]!.after.endsAt });
      return { ended: ending.length, claimed };
    }),
  );
}

/** One JSON parameter instead of nine per row: binding thousands of parameters costs more than the insert. */
async function insertRevokes(work: Work, jobs: JobRow[], claimant: Claimant | null): Promise<JobRow[]> {
  const records = jobs.map((j) => ({
    id: j.id,
    kind: j.kind,
    key: j.key,
    activation_id: j.activationId,
    payload: j.payload,
    run_at: j.runAt.toISOString(),
  }));
  const until = claimant ? new Date(work.now.getTime() + claimant.leaseMs) : null;
  const inserted = resultRows<{ id: string; locked_by: string | null }>(
    await work.tx.execute(sql`
      insert into ${outboxJobs} (id, kind, key, activation_id, payload, run_at, locked_by, locked_until, attempts)
      select x.id, x.kind, x.key, x.activation_id, x.payload, x.run_at,
        case when c.claim then ${claimant?.workerId ?? null}::text end,
        case when c.claim then ${until?.toISOString() ?? null}::timestamptz end,
        case when c.claim then 1 else 0 end
      from jsonb_to_recordset(${JSON.stringify(records)}::text::jsonb)
        as x(id text, kind text, key text, activation_id text, payload jsonb, run_at timestamptz)
      cross join lateral (
        select ${claimant !== null} and not exists (
          select 1 from ${outboxJobs} e where e.key = x.key and e.status = 'pending') as claim) c
      returning id, locked_by`),
  );
  const mine = new Set(inserted.filter((r) => r.locked_by !== null).map((r) => r.id));
  return jobs
    .filter((j) => mine.has(j.id))
    .map((j) => ({ ...j, attempts: 1, lockedBy: claimant!.workerId, lockedUntil: until }));
}

/** ending → ended for every activation whose revoke is confirmed; a no-op for those already moved on. */
export async function confirmRevokes(
  work: Work,
  activationIds: string[],
  /** The principal and role keys, when the caller has them already. */
  names?: Map<string, Names>,
): Promise<number> {
  if (activationIds.length === 0) return 0;
  const rows = await work.tx
    .select()
    .from(activations)
    .where(inIds(activations.id, activationIds))
    .orderBy(asc(activations.id))
    .for("update");
  const ended: { before: StoredActivation; after: In<"ended"> }[] = [];
  for (const row of rows) {
    const before = toActivation(row);
    const after = confirmRevoke(before, work.now);
    if (after.ok) ended.push({ before, after: after.value });
  }
  if (ended.length === 0) return 0;
  await work.tx
    .update(activations)
    .set({ status: "ended", closedAt: work.now, version: incremented() })
    .where(
      and(
        inIds(
          activations.id,
          ended.map((e) => e.before.id),
        ),
        eq(activations.status, "ending"),
      ),
    );
  await auditTransitions(work, ended, names);
  return ended.length;
}

const incremented = () => sql`${activations.version} + 1`;

/** The same audit event and notice recordTransition writes for one transition, for each of a batch. */
type Names = { subject: string; role: string };

async function auditTransitions(
  work: Work,
  items: { before: StoredActivation; after: In<"ending"> | In<"ended"> }[],
  known?: Map<string, Names>,
): Promise<void> {
  const missing = known ? items.filter((i) => !known.has(i.before.id)) : items;
  const [who, roles] = await Promise.all([
    principalKeys(
      work.tx,
      missing.map((i) => i.before.principalId),
    ),
    roleTargets(
      work.tx,
      missing.map((i) => i.before.roleId),
    ),
  ]);
  const requests = new Set<string>();
  for (const { before, after } of items) {
    work.audit({
      event: `activation.${after.status}`,
      actor: "system",
      ...activationAudit(
        after,
        { key: known?.get(after.id)?.subject ?? who.get(after.principalId) ?? after.principalId },
        { key: known?.get(after.id)?.role ?? roles.get(after.roleId)?.key ?? after.roleId },
      ),
      decision: null,
      approver: null,
      data: { from: before.status, reason: after.reason },
    });
    requests.add(after.requestId);
  }
  for (const requestId of requests) work.emit({ type: "request.changed", requestId });
}
