import { and, eq, gt, inArray, min } from "drizzle-orm";
import { PENDING_STATUSES } from "../../domain/activation.js";
import type { Executor } from "../client.js";
import { activations } from "../schema/activations.js";
import { outboxJobs } from "../schema/outbox.js";

/**
 * The earliest moments things fall due after a given instant, for the scheduler to sleep until.
 * Each is one probe of an index on (status, time).
 */

/** The earliest end of an active activation after `after`. */
export async function findEarliestActivationEnd(tx: Executor, after: Date): Promise<Date | null> {
  const [row] = await tx
    .select({ at: min(activations.endsAt) })
    .from(activations)
    .where(and(eq(activations.status, "active"), gt(activations.endsAt, after)));
  return asDate(row?.at);
}

/** The earliest approval deadline of a pending request after `after`. */
export async function findEarliestApprovalDeadline(tx: Executor, after: Date): Promise<Date | null> {
  const [row] = await tx
    .select({ at: min(activations.approvalDeadline) })
    .from(activations)
    .where(and(inArray(activations.status, [...PENDING_STATUSES]), gt(activations.approvalDeadline, after)));
  return asDate(row?.at);
}

/** The earliest run of a pending outbox job after `after`: a scheduled grant or revoke, or a retry. */
export async function findEarliestJobRun(tx: Executor, after: Date): Promise<Date | null> {
  const [row] = await tx
    .select({ at: min(outboxJobs.runAt) })
    .from(outboxJobs)
    .where(and(eq(outboxJobs.status, "pending"), gt(outboxJobs.runAt, after)));
  return asDate(row?.at);
}

const asDate = (t: Date | string | null | undefined): Date | null =>
  t === null || t === undefined ? null : t instanceof Date ? t : new Date(t);
