import { type HoldingJobKind, insertHoldingJobs, newJobRow } from "../db/repos/outbox.js";
import type { Activation } from "../domain/activation.js";
import type { Work } from "./context.js";
import { newId } from "./ids.js";
import { currentRequestId } from "./trace.js";

/**
 * Enqueues a grant or revoke in the transaction that decided it, so neither can be lost; claimed
 * by this process's worker when there is one (see EngineDeps.claimant).
 */
export async function enqueueHolding(
  work: Work,
  kind: HoldingJobKind,
  holding: { principalId: string; roleId: string; scope: string; until: Date | null },
  activationId: string | null,
  runAt: Date = work.now,
): Promise<string> {
  const httpRequestId = currentRequestId();
  const job = newJobRow({
    id: newId("job"),
    kind,
    activationId,
    runAt,
    now: work.now,
    payload: {
      principalId: holding.principalId,
      roleId: holding.roleId,
      scope: holding.scope,
      until: holding.until?.toISOString() ?? null,
      ...(httpRequestId ? { httpRequestId } : {}),
    },
  });
  work.send(
    insertHoldingJobs(work.tx, [job], work.claimant, work.now).then(([claimed]) =>
      work.emit({ type: "holding.job", jobId: job.id, runAt, ...(claimed ? { claimed } : {}) }),
    ),
  );
  return job.id;
}

/** The grant, due now, or at the scheduled start when that is still to come. */
export const grantFor = (a: Activation, work: Work) => {
  const runAt = a.startsAt && a.startsAt > work.now ? a.startsAt : work.now;
  return enqueueHolding(work, "grant", { ...a, until: new Date(runAt.getTime() + a.durationMs) }, a.id, runAt);
};

export const revokeFor = (a: Activation, work: Work) => enqueueHolding(work, "revoke", { ...a, until: null }, a.id);
