import { and, asc, eq, lte, sql } from "drizzle-orm";
import { activationAudit, type EngineDeps, inTransaction, type Work } from "../app/context.js";
import { newId } from "../app/ids.js";
import { inIds } from "../db/id-list.js";
import { type StoredActivation, toActivation } from "../db/repos/activations.js";
import { principalKeys, roleTargets } from "../db/repos/directory.js";
import { type Claimant, insertHoldingJobs, type JobRow, newJobRow } from "../db/repos/outbox.js";
import { activations } from "../db/schema/activations.js";
import { beginEnd, confirmRevoke, type In } from "../domain/activation.js";
import { withBatchedAudit } from "./batch-audit.js";

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
      const jobs = ending.map(({ after }) =>
        newJobRow({
          id: newId("job"),
          kind: "revoke",
          activationId: after.id,
          payload: { principalId: after.principalId, roleId: after.roleId, scope: after.scope, until: null },
          runAt: after.endsAt,
          now: work.now,
        }),
      );
      const claimed = await insertHoldingJobs(work.tx, jobs, claimant, work.now);
      if (claimed.length < jobs.length)
        work.emit({ type: "holding.job", jobId: jobs[0]!.id, runAt: ending[0]!.after.endsAt });
      return { ended: ending.length, claimed };
    }),
  );
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
  // An administrator's revoke is told to its holder once it is done, wherever it was asked (the
  // pim command line has no chat of its own); the notice is sent once per activation.
  for (const { before } of ended)
    if (before.status === "ending" && before.reason === "revoked" && before.closedBy !== "system")
      work.emit({
        type: "activation.revoked",
        activationId: before.id,
        requestId: before.requestId,
        holderId: before.principalId,
        revokedBy: null,
        reason: null,
      });
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
