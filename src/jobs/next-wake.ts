import { and, eq, gt, inArray, min } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { activations } from "../db/schema/activations.js";
import { outboxJobs } from "../db/schema/outbox.js";
import { PENDING_STATUSES } from "../domain/activation.js";

/**
 * The next moment something falls due after `now`: an activation's end, an approval deadline,
 * or a scheduled grant or revoke (an assignment's start or end, a retry). Each is one probe of
 * an index on (status, time).
 */
export async function nextWakeAfter(db: Executor, now: Date): Promise<Date | null> {
  const [ends, deadlines, jobs] = await Promise.all([
    db
      .select({ at: min(activations.endsAt) })
      .from(activations)
      .where(and(eq(activations.status, "active"), gt(activations.endsAt, now))),
    db
      .select({ at: min(activations.approvalDeadline) })
      .from(activations)
      .where(and(inArray(activations.status, [...PENDING_STATUSES]), gt(activations.approvalDeadline, now))),
    db
      .select({ at: min(outboxJobs.runAt) })
      .from(outboxJobs)
      .where(and(eq(outboxJobs.status, "pending"), gt(outboxJobs.runAt, now))),
  ]);
  const times = [ends[0]?.at, deadlines[0]?.at, jobs[0]?.at]
    .filter((t): t is Date => t !== null && t !== undefined)
    .map((t) => (t instanceof Date ? t : new Date(t)));
  if (times.length === 0) return null;
  return new Date(Math.min(...times.map((t) => t.getTime())));
}
