/** Reads of what happened: a person's requests and decisions, and the newest audit events. */

import { and, desc, eq, gte, inArray, lt, max, or } from "drizzle-orm";
import { OPEN_STATUSES } from "../../domain/activation.js";
import type { AuditFilter, AuditRow } from "../audit-log.js";
import type { Executor } from "../client.js";
import { activations, approvals } from "../schema/activations.js";
import { auditEvents } from "../schema/audit.js";
import { principals } from "../schema/principals.js";
import { roles } from "../schema/roles.js";

export async function activationsRequestedSince(tx: Executor, principalId: string, since: Date) {
  return tx
    .select({ activation: activations, role: { key: roles.key, name: roles.name } })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(and(eq(activations.principalId, principalId), gte(activations.requestedAt, since)))
    .orderBy(desc(activations.requestedAt), activations.id);
}

export async function decisionsMadeSince(tx: Executor, approverId: string, since: Date) {
  return tx
    .select({
      decision: approvals,
      requester: { key: principals.key, name: principals.name },
      role: { key: roles.key, name: roles.name },
      scope: activations.scope,
      status: activations.status,
    })
    .from(approvals)
    .innerJoin(activations, eq(activations.id, approvals.activationId))
    .innerJoin(principals, eq(principals.id, activations.principalId))
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(and(eq(approvals.approverId, approverId), gte(approvals.decidedAt, since)))
    .orderBy(desc(approvals.decidedAt), approvals.id);
}

/** The newest events matching the filter, newest first (the same matching as the export's). */
export async function newestAuditEvents(
  tx: Executor,
  filter: Pick<AuditFilter, "from" | "to" | "principal" | "role" | "event">,
  limit: number,
): Promise<AuditRow[]> {
  const { from, to, principal, role, event } = filter;
  const events = event === undefined ? undefined : Array.isArray(event) ? event : [event];
  return tx
    .select()
    .from(auditEvents)
    .where(
      and(
        from && gte(auditEvents.at, from),
        to && lt(auditEvents.at, to),
        principal === undefined
          ? undefined
          : or(
              eq(auditEvents.actor, principal),
              eq(auditEvents.subject, principal),
              eq(auditEvents.approver, principal),
            ),
        role === undefined ? undefined : eq(auditEvents.role, role),
        events === undefined ? undefined : inArray(auditEvents.event, events),
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(limit);
}

/** Activations not yet closed (or, with `all`, the newest of every state), with holder and role. */
export async function activationsWithNames(tx: Executor, options: { all?: boolean; limit?: number } = {}) {
  return tx
    .select({
      activation: activations,
      principal: { key: principals.key, name: principals.name },
      role: { key: roles.key, name: roles.name },
    })
    .from(activations)
    .innerJoin(principals, eq(principals.id, activations.principalId))
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(options.all ? undefined : inArray(activations.status, [...OPEN_STATUSES]))
    .orderBy(desc(activations.requestedAt), activations.id)
    .limit(options.limit ?? 500);
}

/** The id of the newest audit event (0 when there is none). */
export async function lastAuditEventId(tx: Executor): Promise<number> {
  const [row] = await tx.select({ id: max(auditEvents.id) }).from(auditEvents);
  return row?.id ?? 0;
}
