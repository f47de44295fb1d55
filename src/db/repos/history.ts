/** Reads of what happened: a person's requests and decisions, and the newest audit events. */

import { and, desc, eq, gte, inArray, lt, max, or, sql } from "drizzle-orm";
import { OPEN_STATUSES } from "../../domain/activation.js";
import type { AuditFilter, AuditRow } from "../audit-log.js";
import { type Executor, resultRows } from "../client.js";
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

/**
 * The names of the events in the log that start with `prefix`, in order, at most `limit`. It
 * steps from one name to the next through the event index (a loose index scan), so it reads one
 * index entry per name rather than every event.
 */
export async function auditEventNamesStartingWith(tx: Executor, prefix: string, limit = 100): Promise<string[]> {
  const rows = await tx.execute(sql`
    with recursive names(event) as (
      (select event from ${auditEvents} where event >= ${prefix} order by event limit 1)
      union all
      select (select e.event from ${auditEvents} e where e.event > names.event order by e.event limit 1)
      from names where starts_with(names.event, ${prefix})
    )
    select event from names where event is not null and starts_with(event, ${prefix}) limit ${limit}`);
  return resultRows<{ event: string }>(rows).map((r) => r.event);
}

/** Whether any event names this role key (a role since removed from pim.yaml keeps its history). */
export async function auditHasRole(tx: Executor, roleKey: string): Promise<boolean> {
  const [row] = await tx.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.role, roleKey)).limit(1);
  return row !== undefined;
}
