import { sql } from "drizzle-orm";
import { resultRows } from "../db/client.js";
import { mfaOidcFlows, mfaTokens } from "../db/schema/mfa.js";
import { outboxJobs } from "../db/schema/outbox.js";
import { type EngineDeps, inTransaction } from "./context.js";

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
  const before = new Date(deps.clock.now().getTime() - retentionMs).toISOString();
  const pruned: Pruned = { outboxJobs: 0, mfaTokens: 0, oidcFlows: 0 };
  const inBatches = async (statement: () => ReturnType<typeof sql>) => {
    let total = 0;
    for (let n = BATCH; n === BATCH; total += n) {
      const deleted = resultRows<{ n: number }>(
        await deps.db.execute(sql`with gone as (${statement()} returning 1) select count(*)::int as n from gone`),
      );
      n = deleted[0]?.n ?? 0;
    }
    return total;
  };
  pruned.outboxJobs = await inBatches(
    () => sql`delete from ${outboxJobs} where id in (
      select id from ${outboxJobs}
      where status <> 'pending' and finished_at < ${before}::timestamptz
      limit ${BATCH})`,
  );
  pruned.oidcFlows = await inBatches(
    () => sql`delete from ${mfaOidcFlows} where state_hash in (
      select state_hash from ${mfaOidcFlows} where expires_at < ${before}::timestamptz limit ${BATCH})`,
  );
  pruned.mfaTokens = await inBatches(
    () => sql`delete from ${mfaTokens} where id in (
      select t.id from ${mfaTokens} t
      where t.expires_at < ${before}::timestamptz
        and not exists (select 1 from ${mfaOidcFlows} f where f.token_id = t.id)
      limit ${BATCH})`,
  );
  if (pruned.outboxJobs + pruned.mfaTokens + pruned.oidcFlows > 0)
    await inTransaction(deps, async (work) => {
      work.audit({ event: "retention.pruned", actor: "system", data: { ...pruned, before } });
    });
  return pruned;
}
