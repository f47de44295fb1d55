/**
 * The life of an assignment, as in Entra PIM: reminders to the holder and the administrators 14
 * days and 1 day before it ends; an extension the holder asks for (with a reason) from 14 days
 * before the end, or a renewal within 30 days after it; administrators approve or deny. What
 * to tell whom goes out as engine events; chat draws them.
 */
import {
  type AssignmentRequestRow,
  assignmentsEndingBetween,
  closeAssignmentRequest,
  getAssignment,
  getAssignmentRequest,
  insertAssignmentRequest,
  pendingAssignmentRequests,
  pendingRequestFor,
} from "../../db/repos/assignments.js";
import { expandToUsers, principalById, rolesByIds } from "../../db/repos/directory.js";
import { claimNotice } from "../../db/repos/notices.js";
import {
  checkExtendable,
  checkNewEnd,
  checkNotOwnAssignment,
  checkReason,
  checkRenewable,
  proposedEnd,
  REMINDER_LEADS_MS,
  reminderDue,
} from "../../domain/assignment-rules.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { type Actor, administratorIds, authorizeAdministrator, refuseAdministration } from "./administrators.js";
import { applyNewEnd } from "./assignments.js";

/**
 * Once per cluster on a schedule: each time-bound assignment whose end is 14 days or 1 day away
 * gets its reminder, once (claimed in notices_sent under the assignment, the lead and the end,
 * so a changed end is reminded again). Returns how many reminders went out.
 */
export async function sendAssignmentReminders(deps: EngineDeps): Promise<number> {
  const now = deps.clock.now();
  const ending = await assignmentsEndingBetween(deps.db, now, new Date(now.getTime() + Math.max(...REMINDER_LEADS_MS)));
  let sent = 0;
  for (const a of ending) {
    const lead = reminderDue(a.endsAt, now);
    if (lead === null || a.endsAt === null) continue;
    const told = await inTransaction(deps, async (work) => {
      if (!(await claimNotice(work.tx, `assignment-reminder:${a.id}:${lead}:${a.endsAt!.toISOString()}`, work.now)))
        return false;
      const holderIds = [...(await expandToUsers(work.tx, [a.principalId]))];
      const admins = [...(await administratorIds(work))];
      work.emit({
        type: "assignment.expiring",
        assignmentId: a.id,
        principalId: a.principalId,
        roleId: a.roleId,
        scope: a.scope,
        kind: a.kind,
        endsAt: a.endsAt!,
        leadMs: lead,
        holderIds,
        administratorIds: admins,
      });
      return true;
    });
    if (told) sent++;
  }
  return sent;
}

export interface AssignmentRequestView {
  id: string;
  type: "assign" | "extend" | "renew";
  status: AssignmentRequestRow["status"];
  assignmentId: string | null;
  principalId: string;
  roleId: string;
  scope: string;
  kind: "eligible" | "active";
  endsAt: Date | null;
  reason: string | null;
  requestedBy: string;
  requestedAt: Date;
}

/** The holder asks to extend an assignment that ends within 14 days. */
export function requestAssignmentExtension(
  deps: EngineDeps,
  holderId: string,
  assignmentId: string,
  reason: string,
  endsAt?: Date | null,
): Promise<Result<AssignmentRequestView, Refusal>> {
  return askForMore(deps, "extend", holderId, assignmentId, reason, endsAt ?? null);
}

/** The holder asks to renew an assignment that ended within the last 30 days. */
export function requestAssignmentRenewal(
  deps: EngineDeps,
  holderId: string,
  assignmentId: string,
  reason: string,
  endsAt?: Date | null,
): Promise<Result<AssignmentRequestView, Refusal>> {
  return askForMore(deps, "renew", holderId, assignmentId, reason, endsAt ?? null);
}

async function askForMore(
  deps: EngineDeps,
  type: "extend" | "renew",
  holderId: string,
  assignmentId: string,
  reason: string,
  wantedEnd: Date | null,
): Promise<Result<AssignmentRequestView, Refusal>> {
  return inTransaction(deps, async (work) => {
    const holder = await principalById(work.tx, holderId);
    const a = await getAssignment(work.tx, assignmentId, true);
    const refused = (refusal: Refusal) => {
      work.audit({
        event: `assignment.${type}_refused`,
        actor: holder?.key ?? holderId,
        data: { assignmentId, code: refusal.code, message: refusal.message },
      });
      return err(refusal);
    };
    if (!holder || !a) return refused(refuse("NOT_FOUND", "This assignment does not exist (any more)."));
    if (!(await expandToUsers(work.tx, [a.principalId])).has(holderId))
      return refused(refuse("NOT_YOURS", "You can only ask to extend or renew your own assignments."));
    if (a.source === "file")
      return refused(
        refuse(
          "NOT_ALLOWED",
          "This assignment is declared in pim.yaml; ask an administrator to change its end in the file.",
        ),
      );
    const window = type === "extend" ? checkExtendable(a, work.now) : checkRenewable(a, work.now);
    if (!window.ok) return refused(window.error);
    const why = checkReason(reason, "A reason");
    if (!why.ok) return refused(why.error);
    if (await pendingRequestFor(work.tx, a.id, type))
      return refused(
        refuse("ALREADY_PENDING", `You already asked to ${type} this assignment; administrators will decide.`),
      );
    const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId)!;
    const rules = role.policy.assignment;
    const endsAt = wantedEnd ?? proposedEnd(rules, { ...a, endsAt: a.endsAt! }, work.now);
    const start = type === "renew" ? work.now : (a.startsAt ?? a.createdAt);
    const verdict = checkNewEnd(rules, role.name, { kind: a.kind, start }, endsAt, why.value, work.now);
    if (!verdict.ok) return refused(verdict.error);
    const row = await insertAssignmentRequest(work.tx, {
      id: newId("asr"),
      type,
      principalId: a.principalId,
      roleId: a.roleId,
      scope: a.scope,
      kind: a.kind,
      startsAt: type === "renew" ? work.now : a.startsAt,
      endsAt,
      justification: why.value,
      assignmentId: a.id,
      requestedBy: holderId,
      requestedAt: work.now,
    });
    work.audit({
      event: `assignment.${type}_requested`,
      actor: holder.key,
      subject: (await principalById(work.tx, a.principalId))?.key ?? null,
      role: role.key,
      scope: a.scope,
      justification: why.value,
      data: { assignmentId: a.id, requestId: row.id, kind: a.kind, from: a.endsAt, to: endsAt },
    });
    const admins = [...(await administratorIds(work))].filter((id) => id !== holderId);
    work.emit({
      type: "assignment.request",
      requestId: row.id,
      request: type,
      change: "requested",
      assignmentId: a.id,
      requesterId: holderId,
      administratorIds: admins,
    });
    return ok(requestView(row));
  });
}

/**
 * An administrator approves or denies an extension or renewal. Approving sets the new end (a
 * renewal also starts the assignment again now) under the role's rules as they stand; nobody
 * decides on their own assignment; a request already decided is left as it is.
 */
export async function decideAssignmentRequest(
  deps: EngineDeps,
  actor: Actor,
  requestId: string,
  decision: "approve" | "deny",
  comment: string | null = null,
): Promise<Result<AssignmentRequestView, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, `assignment.request.${decision}`, { requestId });
    if (!admin.ok) return admin;
    const row = await getAssignmentRequest(work.tx, requestId, true);
    const refused = (refusal: Refusal) => {
      refuseAdministration(work, admin.value.key, `assignment.request.${decision}`, refusal, { requestId });
      return err(refusal);
    };
    if (!row || row.type === "assign") return refused(refuse("NOT_FOUND", "This request does not exist."));
    if (row.status !== "pending") {
      const by = row.decidedBy ? ((await principalById(work.tx, row.decidedBy))?.name ?? row.decidedBy) : "someone";
      return refused(
        refuse("ALREADY_DECIDED", `Already ${row.status} by ${by} at ${row.decidedAt?.toISOString().slice(0, 16)}.`),
      );
    }
    if (admin.value.id !== null) {
      const self = checkNotOwnAssignment(admin.value.id, {
        principalId: row.principalId,
        memberIds: await expandToUsers(work.tx, [row.principalId]),
      });
      if (!self.ok) return refused(self.error);
    }
    const note = comment?.trim().slice(0, 500) || null;
    const a = row.assignmentId ? await getAssignment(work.tx, row.assignmentId, true) : undefined;
    if (decision === "approve") {
      if (!a) return refused(refuse("NOT_FOUND", "The assignment was removed in the meantime."));
      const principal = (await principalById(work.tx, a.principalId))!;
      const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId)!;
      const start = row.type === "renew" ? work.now : (a.startsAt ?? a.createdAt);
      const verdict = checkNewEnd(
        role.policy.assignment,
        role.name,
        { kind: a.kind, start },
        row.endsAt,
        row.justification,
        work.now,
      );
      if (!verdict.ok) return refused(verdict.error);
      await applyNewEnd(
        work,
        admin.value,
        a,
        principal,
        role,
        row.endsAt,
        row.justification ?? `${row.type} approved`,
        row.type === "renew" ? work.now : a.startsAt,
      );
    }
    await closeAssignmentRequest(work.tx, row.id, {
      status: decision === "approve" ? "approved" : "denied",
      decidedBy: admin.value.id ?? admin.value.key,
      decidedAt: work.now,
      comment: note,
    });
    await auditDecision(work, row, admin.value.key, decision, note);
    work.emit({
      type: "assignment.request",
      requestId: row.id,
      request: row.type,
      change: decision === "approve" ? "approved" : "denied",
      assignmentId: row.assignmentId!,
      requesterId: row.requestedBy,
      administratorIds: admin.value.id ? [admin.value.id] : [],
    });
    return ok(requestView({ ...row, status: decision === "approve" ? "approved" : "denied" }));
  });
}

async function auditDecision(
  work: Work,
  row: AssignmentRequestRow,
  by: string,
  decision: "approve" | "deny",
  comment: string | null,
): Promise<void> {
  const principal = await principalById(work.tx, row.principalId);
  const role = (await rolesByIds(work.tx, [row.roleId])).get(row.roleId);
  work.audit({
    event: `assignment.${row.type}_${decision === "approve" ? "approved" : "denied"}`,
    actor: by,
    subject: principal?.key ?? null,
    role: role?.key ?? null,
    scope: row.scope,
    decision,
    approver: by,
    data: { requestId: row.id, assignmentId: row.assignmentId, comment, to: row.endsAt },
  });
}

/** Extensions and renewals waiting for an administrator (and active assignments waiting for a step-up). */
export async function pendingAssignmentRequestsFor(
  deps: EngineDeps,
  actor: Actor,
): Promise<Result<AssignmentRequestView[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "assignment.request.list");
    if (!admin.ok) return admin;
    return ok((await pendingAssignmentRequests(work.tx)).map(requestView));
  });
}

function requestView(row: AssignmentRequestRow): AssignmentRequestView {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    assignmentId: row.assignmentId,
    principalId: row.principalId,
    roleId: row.roleId,
    scope: row.scope,
    kind: row.kind,
    endsAt: row.endsAt,
    reason: row.justification,
    requestedBy: row.requestedBy,
    requestedAt: row.requestedAt,
  };
}
