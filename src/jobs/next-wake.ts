import type { Executor } from "../db/client.js";
import { findEarliestActivationEnd, findEarliestApprovalDeadline, findEarliestJobRun } from "../db/repos/due-times.js";

/**
 * The next moment something falls due after `now`: an activation's end, an approval deadline,
 * or a scheduled grant or revoke (an assignment's start or end, a retry).
 */
export async function nextWakeAfter(db: Executor, now: Date): Promise<Date | null> {
  const times = (
    await Promise.all([
      findEarliestActivationEnd(db, now),
      findEarliestApprovalDeadline(db, now),
      findEarliestJobRun(db, now),
    ])
  ).filter((t): t is Date => t !== null);
  if (times.length === 0) return null;
  return new Date(Math.min(...times.map((t) => t.getTime())));
}
