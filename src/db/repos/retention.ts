/**
 * Deleting what the bot no longer needs, a batch at a time: finished grant and revoke jobs, and
 * MFA links and OpenID Connect step-ups long expired. Each function deletes at most `limit` rows
 * older than `before` in one statement and says how many it deleted.
 */
import { type SQL, sql } from "drizzle-orm";
import { type Executor, resultRows } from "../client.js";
import { mfaOidcFlows, mfaTokens } from "../schema/mfa.js";
import { outboxJobs } from "../schema/outbox.js";

async function deleteCounted(tx: Executor, statement: SQL): Promise<number> {
  const deleted = resultRows<{ n: number }>(
    await tx.execute(sql`with gone as (${statement} returning 1) select count(*)::int as n from gone`),
  );
  return deleted[0]?.n ?? 0;
}

/** Grant and revoke jobs no longer pending that finished before `before`. */
export async function deleteFinishedJobs(tx: Executor, before: Date, limit: number): Promise<number> {
  return deleteCounted(
    tx,
    sql`delete from ${outboxJobs} where id in (
      select id from ${outboxJobs}
      where status <> 'pending' and finished_at < ${before.toISOString()}::timestamptz
      limit ${limit})`,
  );
}

export async function deleteExpiredOidcFlows(tx: Executor, before: Date, limit: number): Promise<number> {
  return deleteCounted(
    tx,
    sql`delete from ${mfaOidcFlows} where state_hash in (
      select state_hash from ${mfaOidcFlows} where expires_at < ${before.toISOString()}::timestamptz limit ${limit})`,
  );
}

/** MFA links expired before `before`, but none an OpenID Connect step-up still refers to. */
export async function deleteExpiredMfaTokens(tx: Executor, before: Date, limit: number): Promise<number> {
  return deleteCounted(
    tx,
    sql`delete from ${mfaTokens} where id in (
      select t.id from ${mfaTokens} t
      where t.expires_at < ${before.toISOString()}::timestamptz
        and not exists (select 1 from ${mfaOidcFlows} f where f.token_id = t.id)
      limit ${limit})`,
  );
}
