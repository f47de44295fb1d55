import { and, eq, gte, isNull, lt } from "drizzle-orm";
import type { Executor } from "../client.js";
import { cronRuns } from "../schema/cron-runs.js";

/** One run of a cluster-once recurring job in one time slot, whoever claimed it. */
export type CronRun = typeof cronRuns.$inferSelect;

/**
 * Claims the (job, slot) run for `claimedBy`: true for the first replica to ask, false for every
 * other, whose insert meets the primary key.
 */
export async function claimCronRun(
  tx: Executor,
  run: { job: string; slot: Date; claimedBy: string; claimedAt: Date },
): Promise<boolean> {
  const claimed = await tx
    .insert(cronRuns)
    .values({ job: run.job, slot: run.slot, claimedBy: run.claimedBy, claimedAt: run.claimedAt, status: "running" })
    .onConflictDoNothing()
    .returning({ job: cronRuns.job });
  return claimed.length === 1;
}

/** Records how the run `claimedBy` claimed ended. */
export async function finishCronRun(
  tx: Executor,
  run: { job: string; slot: Date; claimedBy: string },
  outcome: { finishedAt: Date; status: "succeeded" | "failed"; error: string | null },
): Promise<void> {
  await tx
    .update(cronRuns)
    .set({ finishedAt: outcome.finishedAt, status: outcome.status, error: outcome.error })
    .where(and(eq(cronRuns.job, run.job), eq(cronRuns.slot, run.slot), eq(cronRuns.claimedBy, run.claimedBy)));
}

/** The slots in [from, to) some replica claimed for `job`. */
export async function findClaimedSlots(tx: Executor, job: string, from: Date, to: Date): Promise<Date[]> {
  const ran = await tx
    .select({ slot: cronRuns.slot })
    .from(cronRuns)
    .where(and(eq(cronRuns.job, job), gte(cronRuns.slot, from), lt(cronRuns.slot, to)));
  return ran.map((r) => r.slot);
}

/**
 * Runs of `job` claimed before `claimedBefore` and never finished, by slot: the replica that
 * claimed them died or hung mid-run.
 */
export async function findUnfinishedRuns(tx: Executor, job: string, claimedBefore: Date): Promise<CronRun[]> {
  return tx
    .select()
    .from(cronRuns)
    .where(and(eq(cronRuns.job, job), isNull(cronRuns.finishedAt), lt(cronRuns.claimedAt, claimedBefore)))
    .orderBy(cronRuns.slot);
}
