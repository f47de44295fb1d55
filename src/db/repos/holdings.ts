import { and, eq, gt, inArray, lte, or, sql } from "drizzle-orm";
import { HOLDING_STATUSES } from "../../domain/activation.js";
import type { Executor } from "../client.js";
import { inIds } from "../id-list.js";
import { activations, holdingColumns } from "../schema/activations.js";
import { assignments } from "../schema/assignments.js";
import { auditEvents } from "../schema/audit.js";
import { outboxJobs } from "../schema/outbox.js";

/**
 * Reads of what principals hold on targets, or held, or are about to: for the revoke's reference
 * count and for drift detection. Those that run side by side in one Promise.all return the query
 * itself, which runs when awaited, so that statements go out in the order they always did.
 */

/** One principal × role × scope, and the activation or assignment behind it. */
export interface HoldingRow {
  id: string;
  principalId: string;
  roleId: string;
  scope: string;
}

/** Activations of these principals being granted or active (HOLDING_STATUSES). */
export function findHoldingActivations(tx: Executor, principalIds: string[]): Promise<HoldingRow[]> {
  return tx
    .select({
      ...holdingColumns,
    })
    .from(activations)
    .where(and(inIds(activations.principalId, principalIds), inArray(activations.status, [...HOLDING_STATUSES])));
}

/** Active assignments of these principals in force at `now`. */
export function findAssignmentsInForce(tx: Executor, principalIds: string[], now: Date): Promise<HoldingRow[]> {
  return tx
    .select({
      id: assignments.id,
      principalId: assignments.principalId,
      roleId: assignments.roleId,
      scope: assignments.scope,
    })
    .from(assignments)
    .where(
      and(
        inIds(assignments.principalId, principalIds),
        eq(assignments.kind, "active"),
        sql`(${assignments.startsAt} is null or ${assignments.startsAt} <= ${now.toISOString()}::timestamptz)`,
        sql`(${assignments.endsAt} is null or ${assignments.endsAt} > ${now.toISOString()}::timestamptz)`,
      ),
    );
}

/** Activations of these roles being granted, active or being ended. */
export function findLiveActivationsOfRoles(
  tx: Executor,
  roleIds: string[],
): Promise<(HoldingRow & { status: string })[]> {
  return tx
    .select({
      ...holdingColumns,
      status: activations.status,
    })
    .from(activations)
    .where(and(inArray(activations.roleId, roleIds), inArray(activations.status, ["activating", "active", "ending"])));
}

/** Active assignments of these roles, whatever their window. */
export function findActiveAssignmentsOfRoles(
  tx: Executor,
  roleIds: string[],
): Promise<(HoldingRow & { startsAt: Date | null; endsAt: Date | null })[]> {
  return tx
    .select({
      id: assignments.id,
      principalId: assignments.principalId,
      roleId: assignments.roleId,
      scope: assignments.scope,
      startsAt: assignments.startsAt,
      endsAt: assignments.endsAt,
    })
    .from(assignments)
    .where(and(inArray(assignments.roleId, roleIds), eq(assignments.kind, "active")));
}

/** Each principal × role × scope of these roles that an activation held once and ended (or failed). */
export function findEndedHoldingsOfRoles(
  tx: Executor,
  roleIds: string[],
): Promise<{ principalId: string; roleId: string; scope: string }[]> {
  return tx
    .selectDistinct({ principalId: activations.principalId, roleId: activations.roleId, scope: activations.scope })
    .from(activations)
    .where(and(inArray(activations.roleId, roleIds), inArray(activations.status, ["ended", "failed"])));
}

/** The payloads of pending jobs due by `now` or tried at least once. */
export function findJobsInFlight(tx: Executor, now: Date): Promise<{ payload: Record<string, unknown> }[]> {
  return tx
    .select({ payload: outboxJobs.payload })
    .from(outboxJobs)
    .where(and(eq(outboxJobs.status, "pending"), or(lte(outboxJobs.runAt, now), gt(outboxJobs.attempts, 0))));
}

/** Whether an unexpected holding of this login, target role and scope was recorded in (after, upTo]. */
export async function wasUnexpectedHoldingRecorded(
  tx: Executor,
  holding: { login: string; roleKey: string; scope: string },
  after: Date,
  upTo: Date,
): Promise<boolean> {
  const [row] = await tx
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.event, "drift.unexpected_holding"),
        eq(auditEvents.subject, holding.login),
        eq(auditEvents.role, holding.roleKey),
        eq(auditEvents.scope, holding.scope),
        gt(auditEvents.at, after),
        lte(auditEvents.at, upTo),
      ),
    )
    .limit(1);
  return row !== undefined;
}
