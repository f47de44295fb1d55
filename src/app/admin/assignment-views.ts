/**
 * What chat shows about the life of a person's assignments: their list with what they may ask
 * for, the facts the extension and renewal forms show, and an extension or renewal request as
 * its cards draw it. Read-only; the use cases in admin/lifecycle.ts decide.
 */
import type { Executor } from "../../db/client.js";
import {
  type AssignmentRow,
  assignmentsOfHolders,
  getAssignment,
  getAssignmentRequest,
} from "../../db/repos/assignments.js";
import { expandToUsers, groupsOf, holderAndRoleNames, principalById, rolesByIds } from "../../db/repos/directory.js";
import { checkExtendable, checkRenewable, proposedEnd, RENEW_WINDOW_MS } from "../../domain/assignment-rules.js";
import type { AssignmentListRow } from "../../domain/assignment-view.js";
import type { AssignmentRequestNotice } from "../../domain/notices.js";
import { person } from "../../domain/request-view.js";

/** What the holder may ask for now: a later end (from 14 days before it), or to have it back (within 30 days after). */
function nextStep(a: Pick<AssignmentRow, "endsAt" | "source">, now: Date): "extend" | "renew" | null {
  if (a.source === "file") return null;
  if (checkExtendable(a, now).ok) return "extend";
  if (checkRenewable(a, now).ok) return "renew";
  return null;
}

/** A user's assignments, their own and their groups', leaving out those that ended more than 30 days ago. */
export async function myAssignments(db: Executor, userId: string, now: Date): Promise<AssignmentListRow[]> {
  const rows = await assignmentsOfHolders(db, [userId, ...(await groupsOf(db, userId))]);
  return rows
    .filter(({ assignment: a }) => a.endsAt === null || now.getTime() - a.endsAt.getTime() <= RENEW_WINDOW_MS)
    .map(({ assignment: a, principal, role }) => ({
      id: a.id,
      roleName: role.name,
      scope: a.scope,
      kind: a.kind,
      viaGroup: principal.id === userId ? null : principal.name,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      declared: a.source === "file",
      may: nextStep(a, now),
    }));
}

export interface AssignmentFormFacts {
  assignmentId: string;
  request: "extend" | "renew";
  roleName: string;
  scope: string;
  kind: "eligible" | "active";
  /** The end it has (or had, for a renewal). */
  endsAt: Date;
  /** The end asked for when the person names none. */
  proposedEnd: Date;
}

/** What the extension or renewal form shows for one of my assignments, or why it cannot be asked for. */
export async function assignmentFormFacts(
  db: Executor,
  userId: string,
  assignmentId: string,
  request: "extend" | "renew",
  now: Date,
): Promise<AssignmentFormFacts | string> {
  const a = await getAssignment(db, assignmentId);
  if (!a) return "This assignment does not exist (any more).";
  if (!(await expandToUsers(db, [a.principalId])).has(userId))
    return "You can only ask to extend or renew your own assignments.";
  if (a.source === "file")
    return "This assignment is declared in pim.yaml; ask an administrator to change its end in the file.";
  const window = request === "extend" ? checkExtendable(a, now) : checkRenewable(a, now);
  if (!window.ok) return window.error.message;
  const role = (await rolesByIds(db, [a.roleId])).get(a.roleId);
  if (!role) return "This assignment's role no longer exists.";
  const endsAt = a.endsAt!;
  return {
    assignmentId,
    request,
    roleName: role.name,
    scope: a.scope,
    kind: a.kind,
    endsAt,
    proposedEnd: proposedEnd(role.policy.assignment, { ...a, endsAt }, now),
  };
}

/** An extension or renewal request as its cards draw it: for the administrators, or the requester's outcome. */
export async function assignmentRequestNotice(
  db: Executor,
  requestId: string,
  forRequester: boolean,
): Promise<AssignmentRequestNotice | undefined> {
  const row = await getAssignmentRequest(db, requestId);
  if (!row || row.type === "assign") return undefined;
  const [requester, names, a] = await Promise.all([
    principalById(db, row.requestedBy),
    holderAndRoleNames(db, row.principalId, row.roleId),
    row.assignmentId ? getAssignment(db, row.assignmentId) : undefined,
  ]);
  if (!requester) return undefined;
  const decider = row.decidedBy ? await principalById(db, row.decidedBy) : undefined;
  return {
    requestId: row.id,
    request: row.type,
    status: row.status,
    requester: person(requester),
    holder: names.holderName,
    roleName: names.roleName,
    scope: row.scope,
    kind: row.kind,
    currentEnd: a?.endsAt ?? null,
    askedEnd: row.endsAt,
    reason: row.justification,
    requestedAt: row.requestedAt,
    decidedBy: row.decidedBy ? (decider?.name ?? row.decidedBy) : null,
    decidedAt: row.decidedAt,
    comment: row.comment,
    forRequester,
  };
}
