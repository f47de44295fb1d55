/**
 * Assignments as administrators see and change them: one assignment, a role's members, the
 * removals of declared assignments that apply honours, and the requests waiting on an
 * assignment (a step-up, an extension, a renewal).
 */
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { activations } from "../schema/activations.js";
import { assignmentRemovals, assignmentRequests } from "../schema/assignment-admin.js";
import { assignments } from "../schema/assignments.js";
import { outboxJobs } from "../schema/outbox.js";
import { principals } from "../schema/principals.js";
import { roles } from "../schema/roles.js";

export type AssignmentRow = typeof assignments.$inferSelect;
export type AssignmentRequestRow = typeof assignmentRequests.$inferSelect;
export type AssignmentRemovalRow = typeof assignmentRemovals.$inferSelect;
export type AssignmentIdentity = Pick<AssignmentRow, "principalId" | "roleId" | "scope" | "kind">;

export async function getAssignment(tx: Executor, id: string, lock = false): Promise<AssignmentRow | undefined> {
  const query = tx.select().from(assignments).where(eq(assignments.id, id)).$dynamic();
  const [row] = lock ? await query.for("update") : await query;
  return row;
}

/** The ids of assignments whose id starts with `prefix` (a reference typed in chat), at most `limit`. */
export async function assignmentIdsStartingWith(tx: Executor, prefix: string, limit = 2): Promise<string[]> {
  const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
  const rows = await tx
    .select({ id: assignments.id })
    .from(assignments)
    .where(sql`${assignments.id} like ${`${escaped}%`}`)
    .limit(limit);
  return rows.map((r) => r.id);
}

export async function findAssignment(tx: Executor, a: AssignmentIdentity): Promise<AssignmentRow | undefined> {
  const [row] = await tx
    .select()
    .from(assignments)
    .where(
      and(
        eq(assignments.principalId, a.principalId),
        eq(assignments.roleId, a.roleId),
        eq(assignments.scope, a.scope),
        eq(assignments.kind, a.kind),
      ),
    )
    .for("update");
  return row;
}

export async function insertAssignment(tx: Executor, row: typeof assignments.$inferInsert): Promise<AssignmentRow> {
  const [saved] = await tx.insert(assignments).values(row).returning();
  return saved!;
}

export async function setAssignmentEnd(
  tx: Executor,
  id: string,
  endsAt: Date | null,
  startsAt: Date | null,
): Promise<void> {
  await tx.update(assignments).set({ endsAt, startsAt }).where(eq(assignments.id, id));
}

export async function deleteAssignment(tx: Executor, id: string): Promise<void> {
  await tx.delete(assignments).where(eq(assignments.id, id));
}

/** Grants and scheduled revokes still queued for an assignment are dropped (a change or a removal). */
export async function cancelAssignmentJobs(tx: Executor, assignmentId: string): Promise<void> {
  await tx
    .update(outboxJobs)
    .set({ status: "canceled" })
    .where(
      and(
        eq(outboxJobs.status, "pending"),
        isNull(outboxJobs.activationId),
        sql`${outboxJobs.payload}->>'assignmentId' = ${assignmentId}`,
      ),
    );
}

export interface MemberRow {
  assignment: AssignmentRow;
  principal: { id: string; key: string; name: string; kind: "user" | "group" };
}

/** Every assignment of a role, with its holder, by holder name. */
export async function assignmentsOfRole(tx: Executor, roleId: string): Promise<MemberRow[]> {
  const rows = await tx
    .select({
      assignment: assignments,
      principal: { id: principals.id, key: principals.key, name: principals.name, kind: principals.kind },
    })
    .from(assignments)
    .innerJoin(principals, eq(principals.id, assignments.principalId))
    .where(eq(assignments.roleId, roleId))
    .orderBy(asc(principals.name), asc(assignments.scope), asc(assignments.kind));
  return rows;
}

/** Every assignment, optionally of one holder or role, with names (for the CLI's list). */
export async function listAssignments(
  tx: Executor,
  filter: { principalId?: string; roleId?: string } = {},
): Promise<NamedAssignmentRow[]> {
  return namedAssignments(
    tx,
    and(
      filter.principalId ? eq(assignments.principalId, filter.principalId) : undefined,
      filter.roleId ? eq(assignments.roleId, filter.roleId) : undefined,
    ),
  ).orderBy(asc(roles.key), asc(principals.key), asc(assignments.scope), asc(assignments.kind));
}

/** The assignments of some holders (a user and their groups), with role and holder names, by role name. */
export async function assignmentsOfHolders(tx: Executor, holderIds: string[]): Promise<NamedAssignmentRow[]> {
  if (holderIds.length === 0) return [];
  return namedAssignments(tx, inArray(assignments.principalId, holderIds)).orderBy(
    asc(roles.name),
    asc(assignments.scope),
    asc(assignments.kind),
  );
}

/** Assignments with their holder's and role's names, where `where` holds. */
function namedAssignments(tx: Executor, where: SQL | undefined) {
  return tx
    .select({
      assignment: assignments,
      principal: { id: principals.id, key: principals.key, name: principals.name, kind: principals.kind },
      role: { key: roles.key, name: roles.name },
    })
    .from(assignments)
    .innerJoin(principals, eq(principals.id, assignments.principalId))
    .innerJoin(roles, eq(roles.id, assignments.roleId))
    .where(where)
    .$dynamic();
}

export type NamedAssignmentRow = MemberRow & { role: { key: string; name: string } };

/** Who holds an active activation of a role now, with the activation. */
export async function activeActivationsOfRole(
  tx: Executor,
  roleId: string,
): Promise<{ id: string; principalId: string; scope: string; endsAt: Date | null }[]> {
  return tx
    .select({
      id: activations.id,
      principalId: activations.principalId,
      scope: activations.scope,
      endsAt: activations.endsAt,
    })
    .from(activations)
    .where(and(eq(activations.roleId, roleId), eq(activations.status, "active")));
}

/** Whether a user has an active activation of a role right now. */
export async function hasActiveActivation(tx: Executor, principalId: string, roleId: string, now: Date) {
  const [row] = await tx
    .select({ id: activations.id })
    .from(activations)
    .where(
      and(
        eq(activations.principalId, principalId),
        eq(activations.roleId, roleId),
        eq(activations.status, "active"),
        gt(activations.endsAt, now),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** Time-bound assignments ending in (from, to], with holder and role keys, for reminders. */
export async function assignmentsEndingBetween(tx: Executor, from: Date, to: Date): Promise<AssignmentRow[]> {
  return tx
    .select()
    .from(assignments)
    .where(and(isNotNull(assignments.endsAt), gt(assignments.endsAt, from), lte(assignments.endsAt, to)))
    .orderBy(asc(assignments.endsAt));
}

// ── declared assignments that stay removed ─────────────────────────────────────────────────

export async function recordRemoval(tx: Executor, removal: typeof assignmentRemovals.$inferInsert): Promise<void> {
  await tx
    .insert(assignmentRemovals)
    .values(removal)
    .onConflictDoUpdate({
      target: [
        assignmentRemovals.principalKey,
        assignmentRemovals.roleKey,
        assignmentRemovals.scope,
        assignmentRemovals.kind,
      ],
      set: {
        removedBy: removal.removedBy,
        byName: removal.byName,
        campaignId: removal.campaignId ?? null,
        reason: removal.reason ?? null,
        removedAt: removal.removedAt,
      },
    });
}

/** Many removals at once (an access review's), in batches of one statement each. */
export async function recordRemovals(tx: Executor, rows: (typeof assignmentRemovals.$inferInsert)[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 2_000)
    await tx
      .insert(assignmentRemovals)
      .values(rows.slice(i, i + 2_000))
      .onConflictDoNothing();
}

export async function listRemovals(tx: Executor): Promise<AssignmentRemovalRow[]> {
  return tx
    .select()
    .from(assignmentRemovals)
    .orderBy(asc(assignmentRemovals.principalKey), asc(assignmentRemovals.roleKey));
}

export async function deleteRemoval(
  tx: Executor,
  r: Pick<AssignmentRemovalRow, "principalKey" | "roleKey" | "scope" | "kind">,
): Promise<AssignmentRemovalRow | undefined> {
  const [gone] = await tx
    .delete(assignmentRemovals)
    .where(
      and(
        eq(assignmentRemovals.principalKey, r.principalKey),
        eq(assignmentRemovals.roleKey, r.roleKey),
        eq(assignmentRemovals.scope, r.scope),
        eq(assignmentRemovals.kind, r.kind),
      ),
    )
    .returning();
  return gone;
}

// ── requests waiting on an assignment ───────────────────────────────────────────────────────

export async function insertAssignmentRequest(
  tx: Executor,
  row: typeof assignmentRequests.$inferInsert,
): Promise<AssignmentRequestRow> {
  const [saved] = await tx.insert(assignmentRequests).values(row).returning();
  return saved!;
}

export async function getAssignmentRequest(
  tx: Executor,
  id: string,
  lock = false,
): Promise<AssignmentRequestRow | undefined> {
  const query = tx.select().from(assignmentRequests).where(eq(assignmentRequests.id, id)).$dynamic();
  const [row] = lock ? await query.for("update") : await query;
  return row;
}

export async function pendingRequestFor(
  tx: Executor,
  assignmentId: string,
  type: "extend" | "renew",
): Promise<AssignmentRequestRow | undefined> {
  const [row] = await tx
    .select()
    .from(assignmentRequests)
    .where(
      and(
        eq(assignmentRequests.assignmentId, assignmentId),
        eq(assignmentRequests.type, type),
        eq(assignmentRequests.status, "pending"),
      ),
    );
  return row;
}

export async function closeAssignmentRequest(
  tx: Executor,
  id: string,
  outcome: { status: "approved" | "denied" | "canceled"; decidedBy: string; decidedAt: Date; comment: string | null },
): Promise<void> {
  await tx.update(assignmentRequests).set(outcome).where(eq(assignmentRequests.id, id));
}

export async function pendingAssignmentRequests(
  tx: Executor,
  types?: AssignmentRequestRow["type"][],
): Promise<AssignmentRequestRow[]> {
  return tx
    .select()
    .from(assignmentRequests)
    .where(and(eq(assignmentRequests.status, "pending"), types ? inArray(assignmentRequests.type, types) : undefined))
    .orderBy(desc(assignmentRequests.requestedAt));
}
