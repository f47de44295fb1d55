import { deleteExpiredMfaTokens, deleteExpiredOidcFlows, deleteFinishedJobs } from "../../db/repos/retention.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";

export interface Pruned {
  outboxJobs: number;
  mfaTokens: number;
  oidcFlows: number;
}

/** Rows deleted per transaction, so that pruning a large backlog never holds locks for long. */
const BATCH = 5_000;

/**
 * Deletes what the bot no longer needs once `retentionMs` has passed: finished grant and revoke
 * jobs (every attempt is in the audit log already), and MFA links and OpenID Connect step-ups
 * that expired that long ago (expired ones can no longer be used, so nothing can be replayed).
 * Pending jobs and live links are never touched. One audit event says what was pruned.
 */
export async function pruneFinished(deps: EngineDeps, retentionMs: number): Promise<Pruned> {
  const cutoff = new Date(deps.clock.now().getTime() - retentionMs);
  const before = cutoff.toISOString();
  const pruned: Pruned = { outboxJobs: 0, mfaTokens: 0, oidcFlows: 0 };
  const inBatches = async (deleteBatch: typeof deleteFinishedJobs) => {
    let total = 0;
    for (let n = BATCH; n === BATCH; total += n) n = await deleteBatch(deps.db, cutoff, BATCH);
    return total;
  };
  pruned.outboxJobs = await inBatches(deleteFinishedJobs);
  pruned.oidcFlows = await inBatches(deleteExpiredOidcFlows);
  pruned.mfaTokens = await inBatches(deleteExpiredMfaTokens);
  if (pruned.outboxJobs + pruned.mfaTokens + pruned.oidcFlows > 0)
    await inTransaction(deps, async (work) => {
      work.audit({ event: "retention.pruned", actor: "system", data: { ...pruned, before } });
    });
  return pruned;
}
