import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import { activationAudit, type EngineDeps, inTransaction, type Work } from "../app/context.js";
import { newId } from "../app/ids.js";
import { type StoredActivation, toActivation } from "../db/repos/activations.js";
import { holdingKey } from "../db/repos/outbox.js";
import { activations } from "../db/schema/activations.js";
import { outboxJobs } from "../db/schema/outbox.js";
import { beginEnd, confirmRevoke, type In } from "../domain/activation.js";
import { principalKeys, roleTargets } from "./holding-check.js";

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
  const T0 = performance.now();
  const marks: string[] = [];
  const mark = (n: string) => marks.push(`${n} ${(performance.now() - T0).toFixed(0)}`);
  const out = await inTransaction(deps, async (work) => {
    mark("begin");
    const rows = await work.tx
      .select()
      .from(activations)
      .where(and(eq(activations.status, "active"), lte(activations.endsAt, work.now)))
      .orderBy(asc(activations.endsAt), asc(activations.id))
      .limit(limit)
      .for("update", { skipLocked: true });
    mark("select");
    const ending: { before: StoredActivation; after: In<"ending"> }[] = [];
    for (const row of rows) {
      const before = toActivation(row);
      const after = beginEnd(before, "expired", "system", work.now);
      if (after.ok) ending.push({ before, after: after.value });
    }
    if (ending.length === 0) return 0;
    await work.tx
      .update(activations)
      .set({ status: "ending", reason: "expired", closedBy: "system", version: incremented() })
      .where(
        and(
          inArray(
            activations.id,
            ending.map((e) => e.before.id),
          ),
          eq(activations.status, "active"),
        ),
      );
    mark("update");
    await auditTransitions(work, ending);
    mark("names");
    // A revoke is due from the moment its activation ended, so the oldest are revoked first.
    const jobs = ending.map(({ after }) => {
      const payload = { principalId: after.principalId, roleId: after.roleId, scope: after.scope, until: null };
      return {
        id: newId("job"),
        kind: "revoke",
        key: holdingKey(payload),
        activationId: after.id,
        payload,
        runAt: after.endsAt,
      };
    });
    await work.tx.insert(outboxJobs).values(jobs);
    mark("jobs");
    work.emit({ type: "holding.job", jobId: jobs[0]!.id, runAt: jobs[0]!.runAt });
    return ending.length;
  });
  mark("commit");
  if (out) console.log("EXPIRE", marks.join(", "));
  return out;
}

/** ending → ended for every activation whose revoke is confirmed; a no-op for those already moved on. */
export async function confirmRevokes(work: Work, activationIds: string[]): Promise<number> {
  if (activationIds.length === 0) return 0;
  const rows = await work.tx
    .select()
    .from(activations)
    .where(inArray(activations.id, activationIds))
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
        inArray(
          activations.id,
          ended.map((e) => e.before.id),
        ),
        eq(activations.status, "ending"),
      ),
    );
  await auditTransitions(work, ended);
  return ended.length;
}

const incremented = () => sql`${activations.version} + 1`;

/** The same audit event and notice recordTransition writes for one transition, for each of a batch. */
async function auditTransitions(
  work: Work,
  items: { before: StoredActivation; after: In<"ending"> | In<"ended"> }[],
): Promise<void> {
  const [who, roles] = await Promise.all([
    principalKeys(
      work.tx,
      items.map((i) => i.before.principalId),
    ),
    roleTargets(
      work.tx,
      items.map((i) => i.before.roleId),
    ),
  ]);
  const requests = new Set<string>();
  for (const { before, after } of items) {
    work.audit({
      event: `activation.${after.status}`,
      actor: "system",
      ...activationAudit(
        after,
        { key: who.get(after.principalId) ?? after.principalId },
        { key: roles.get(after.roleId)?.key ?? after.roleId },
      ),
      decision: null,
      approver: null,
      data: { from: before.status, reason: after.reason },
    });
    requests.add(after.requestId);
  }
  for (const requestId of requests) work.emit({ type: "request.changed", requestId });
}
