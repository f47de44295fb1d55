/**
 * Failed step-up tries and the lockouts they led to, per person. How many failures lock, for how
 * long, and which failures still count are decided in src/mfa/lockout.ts.
 */
import { and, count, desc, eq, gt, isNull, max } from "drizzle-orm";
import type { Executor } from "../client.js";
import { mfaFailures, mfaLockouts } from "../schema/mfa.js";

export type LockoutRow = typeof mfaLockouts.$inferSelect;

/** The person's most recent lockout, whether or not it is still in force. */
export async function latestLockout(db: Executor, principalId: string): Promise<LockoutRow | undefined> {
  const [row] = await db
    .select()
    .from(mfaLockouts)
    .where(eq(mfaLockouts.principalId, principalId))
    .orderBy(desc(mfaLockouts.lockedAt))
    .limit(1);
  return row;
}

/** How many failures the person has after `since`, and when the last of them was. */
export async function failuresSince(
  db: Executor,
  principalId: string,
  since: Date,
): Promise<{ failures: number; last: Date | null }> {
  const [row] = await db
    .select({ n: count(), last: max(mfaFailures.at) })
    .from(mfaFailures)
    .where(and(eq(mfaFailures.principalId, principalId), gt(mfaFailures.at, since)));
  const last = row?.last ? new Date(row.last as unknown as string | Date) : null;
  return { failures: Number(row?.n ?? 0), last };
}

export async function insertFailure(
  tx: Executor,
  failure: { id: string; principalId: string; method: string; at: Date },
): Promise<void> {
  await tx.insert(mfaFailures).values(failure);
}

export async function insertLockout(
  tx: Executor,
  lockout: { id: string; principalId: string; lockedAt: Date; until: Date },
): Promise<void> {
  await tx.insert(mfaLockouts).values(lockout);
}

/** Marks the person's lockouts in force at `now` cleared by `by`; how many there were. */
export async function clearLockoutsInForce(tx: Executor, principalId: string, now: Date, by: string): Promise<number> {
  const lifted = await tx
    .update(mfaLockouts)
    .set({ clearedAt: now, clearedBy: by })
    .where(and(eq(mfaLockouts.principalId, principalId), isNull(mfaLockouts.clearedAt), gt(mfaLockouts.until, now)))
    .returning({ id: mfaLockouts.id });
  return lifted.length;
}

/** Deletes every failure on record for the person; how many there were. */
export async function deleteFailures(tx: Executor, principalId: string): Promise<number> {
  const forgotten = await tx
    .delete(mfaFailures)
    .where(eq(mfaFailures.principalId, principalId))
    .returning({ id: mfaFailures.id });
  return forgotten.length;
}
