/**
 * Administrators assign, change and remove assignments (from chat or the `pim` command line):
 * each under the role's assignment rules, with the reason shown when refused; nobody changes
 * their own; an active assignment on a role with `requireMfaOnActive` waits for the
 * administrator's step-up before it takes effect. A declared assignment (pim.yaml) that an
 * administrator removes stays removed: `apply` honours the removal.
 */
import {
  type AssignmentRow,
  cancelAssignmentJobs,
  closeAssignmentRequest,
  deleteAssignment,
  findAssignment,
  getAssignment,
  getAssignmentRequest,
  insertAssignment,
  insertAssignmentRequest,
  recordRemoval,
  setAssignmentEnd,
} from "../../db/repos/assignments.js";
import {
  expandToUsers,
  type Principal,
  principalById,
  principalByKey,
  type Role,
  roleByKeyOrName,
  rolesByIds,
} from "../../db/repos/directory.js";
import {
  type AssignmentKind,
  checkAssignment,
  checkNewEnd,
  checkNotOwnAssignment,
  checkReason,
} from "../../domain/assignment-rules.js";
import { isInForce } from "../../domain/eligibility.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { isValidScope, scopeCovers } from "../../domain/scope.js";
import { enqueueHoldings } from "../activation/holding-jobs.js";
import type { MfaEvidence } from "../activation/satisfy-mfa.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { type Actor, type Administrator, authorizeAdministrator, refuseAdministration } from "./administrators.js";
import { scheduleActiveHolding } from "./apply-config.js";
import { assignmentAudience } from "./audience.js";
import { endWhatRemovalBacked } from "./backed-access.js";

export interface AssignInput {
  /** User or group key. */
  principal: string;
  /** Role key or name. */
  role: string;
  /** Default: the role's first scope. */
  scope?: string | null;
  kind: AssignmentKind;
  /** null or absent: from now. */
  startsAt?: Date | null;
  /** null or absent: permanent. */
  endsAt?: Date | null;
  justification?: string | null;
}

export interface AssignmentView {
  id: string;
  principalKey: string;
  roleKey: string;
  scope: string;
  kind: AssignmentKind;
  startsAt: Date | null;
  endsAt: Date | null;
  source: string;
}

export type AssignOutcome =
  | { status: "assigned"; assignment: AssignmentView }
  /** Held until the administrator passes an MFA step-up: see `completeAssignmentStepUp`. */
  | { status: "pending_step_up"; pendingId: string };

/** Assigns a user or group eligible or active for a role at a scope. */
export async function assignRole(
  deps: EngineDeps,
  actor: Actor,
  input: AssignInput,
): Promise<Result<AssignOutcome, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "assignment.create", describeInput(input));
    if (!admin.ok) return admin;
    const target = await resolveTarget(work, admin.value, input, "assignment.create");
    if (!target.ok) return target;
    const { principal, role, scope } = target.value;
    const proposal = {
      kind: input.kind,
      startsAt: input.startsAt ?? null,
      endsAt: input.endsAt ?? null,
      justification: input.justification?.trim() || null,
    };
    const refused = (refusal: Refusal) => {
      refuseAdministration(work, admin.value.key, "assignment.create", refusal, describeInput(input), {
        subject: principal.key,
        role: role.key,
        scope,
      });
      return err(refusal);
    };
    const verdict = checkAssignment(role.policy.assignment, role.name, proposal, work.now);
    if (!verdict.ok) return refused(verdict.error);
    const existing = await findAssignment(work.tx, {
      principalId: principal.id,
      roleId: role.id,
      scope,
      kind: input.kind,
    });
    if (existing)
      return refused(
        refuse(
          "ALREADY_ASSIGNED",
          `${principal.name} is already ${input.kind} for ${role.name} at ${scope}; change its end instead.`,
        ),
      );

    // An operator at the command line has the database itself: a step-up would prove nothing more.
    if (verdict.value.needsStepUp && admin.value.id !== null) {
      const pending = await insertAssignmentRequest(work.tx, {
        id: newId("asr"),
        type: "assign",
        principalId: principal.id,
        roleId: role.id,
        scope,
        kind: input.kind,
        startsAt: proposal.startsAt,
        endsAt: proposal.endsAt,
        justification: proposal.justification,
        requestedBy: admin.value.id,
        requestedAt: work.now,
      });
      work.audit({
        event: "assignment.step_up_required",
        actor: admin.value.key,
        subject: principal.key,
        role: role.key,
        scope,
        justification: proposal.justification,
        data: { pendingId: pending.id, kind: input.kind, start: proposal.startsAt, end: proposal.endsAt },
      });
      await tell(work, "pending_step_up", admin.value, role, { ...pending, id: null, pendingId: pending.id }, null);
      return ok({ status: "pending_step_up" as const, pendingId: pending.id });
    }
    const created = await createAssignment(work, admin.value, principal, role, { ...proposal, scope });
    return ok({ status: "assigned" as const, assignment: created });
  });
}

/**
 * The administrator passed the step-up an active assignment waited for: it takes effect now,
 * if it still satisfies the role's rules. Called by the MFA pages with the evidence.
 */
export async function completeAssignmentStepUp(
  deps: EngineDeps,
  pendingId: string,
  adminId: string,
  evidence: MfaEvidence,
): Promise<Result<AssignmentView, Refusal>> {
  return inTransaction(deps, async (work) => {
    const pending = await getAssignmentRequest(work.tx, pendingId, true);
    if (pending?.type !== "assign") return err(refuse("NOT_FOUND", "This assignment does not exist."));
    if (pending.requestedBy !== adminId)
      return err(refuse("NOT_YOURS", "Only the administrator who made this assignment can confirm it."));
    if (pending.status !== "pending")
      return err(refuse("ALREADY_DECIDED", `This assignment was already ${pending.status}.`));
    const admin = await authorizeAdministrator(work, { kind: "person", id: adminId }, "assignment.step_up", {
      pendingId,
    });
    if (!admin.ok) return admin;
    const principal = (await principalById(work.tx, pending.principalId))!;
    const role = (await rolesByIds(work.tx, [pending.roleId])).get(pending.roleId)!;
    const proposal = {
      kind: pending.kind,
      startsAt: pending.startsAt,
      endsAt: pending.endsAt,
      justification: pending.justification,
    };
    const verdict = checkAssignment(role.policy.assignment, role.name, proposal, work.now);
    const closeAs = (status: "approved" | "canceled", comment: string | null) =>
      closeAssignmentRequest(work.tx, pending.id, { status, decidedBy: adminId, decidedAt: work.now, comment });
    if (!verdict.ok) {
      await closeAs("canceled", verdict.error.message);
      refuseAdministration(work, admin.value.key, "assignment.step_up", verdict.error, { pendingId });
      return verdict;
    }
    await closeAs("approved", null);
    work.audit({
      event: "assignment.step_up_passed",
      actor: admin.value.key,
      subject: principal.key,
      role: role.key,
      scope: pending.scope,
      data: { pendingId, method: evidence.method },
    });
    return ok(await createAssignment(work, admin.value, principal, role, { ...proposal, scope: pending.scope }));
  });
}

/** Changes when an assignment ends (null: permanent, where the role allows it). */
export async function changeAssignmentEnd(
  deps: EngineDeps,
  actor: Actor,
  assignmentId: string,
  endsAt: Date | null,
  reason: string,
): Promise<Result<AssignmentView, Refusal>> {
  return inTransaction(deps, async (work) => {
    const detail = { assignmentId, end: endsAt };
    const admin = await authorizeAdministrator(work, actor, "assignment.update", detail);
    if (!admin.ok) return admin;
    const found = await lockedAssignment(work, admin.value, assignmentId, "assignment.update");
    if (!found.ok) return found;
    const { row, principal, role } = found.value;
    const refused = (refusal: Refusal) => {
      refuseAdministration(work, admin.value.key, "assignment.update", refusal, detail, {
        subject: principal.key,
        role: role.key,
        scope: row.scope,
      });
      return err(refusal);
    };
    if (row.source === "file")
      return refused(
        refuse(
          "NOT_ALLOWED",
          "This assignment is declared in pim.yaml: change its end there and apply the file, or the next apply puts it back.",
        ),
      );
    const why = checkReason(reason, "A reason for the change");
    if (!why.ok) return refused(why.error);
    const verdict = checkNewEnd(
      role.policy.assignment,
      role.name,
      { kind: row.kind, start: row.startsAt ?? row.createdAt },
      endsAt,
      why.value,
      work.now,
    );
    if (!verdict.ok) return refused(verdict.error);
    return ok(await applyNewEnd(work, admin.value, row, principal, role, endsAt, why.value));
  });
}

/** Removes an assignment; what it backed (active holdings, activations through it) ends with it. */
export async function removeAssignment(
  deps: EngineDeps,
  actor: Actor,
  assignmentId: string,
  reason: string,
): Promise<Result<AssignmentView, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "assignment.remove", { assignmentId });
    if (!admin.ok) return admin;
    const found = await lockedAssignment(work, admin.value, assignmentId, "assignment.remove");
    if (!found.ok) return found;
    const { row, principal, role } = found.value;
    const why = checkReason(reason, "A reason for the removal");
    if (!why.ok) {
      refuseAdministration(work, admin.value.key, "assignment.remove", why.error, { assignmentId });
      return why;
    }
    await deleteAssignment(work.tx, row.id);
    await cancelAssignmentJobs(work.tx, row.id);
    if (row.kind === "active" && isInForce(row, work.now)) await enqueueAssignmentJob(work, "revoke", row, work.now);
    if (row.source === "file")
      await recordRemoval(work.tx, {
        principalKey: principal.key,
        roleKey: role.key,
        scope: row.scope,
        kind: row.kind,
        removedBy: "admin",
        byName: admin.value.key,
        reason: why.value,
        removedAt: work.now,
      });
    work.audit({
      event: "assignment.removed",
      actor: admin.value.key,
      subject: principal.key,
      role: role.key,
      scope: row.scope,
      justification: why.value,
      data: {
        kind: row.kind,
        source: row.source,
        assignmentId: row.id,
        reason: why.value,
        staysRemoved: row.source === "file",
      },
    });
    if (row.kind === "eligible") await endWhatRemovalBacked(work, row, admin.value.key, why.value);
    await tell(work, "removed", admin.value, role, { ...row, pendingId: null }, why.value);
    return ok(view(row, principal, role));
  });
}

// ── shared steps ──────────────────────────────────────────────────────────────────────────────

async function resolveTarget(
  work: Work,
  admin: Administrator,
  input: AssignInput,
  action: string,
): Promise<Result<{ principal: Principal; role: Role; scope: string }, Refusal>> {
  const refused = (refusal: Refusal) => {
    refuseAdministration(work, admin.key, action, refusal, describeInput(input));
    return err(refusal);
  };
  const principal = await principalByKey(work.tx, input.principal.trim().toLowerCase());
  if (!principal || principal.retiredAt)
    return refused(refuse("UNKNOWN_PRINCIPAL", `There is no user or group "${input.principal.slice(0, 60)}".`));
  const role = await roleByKeyOrName(work.tx, input.role.trim());
  if (!role) return refused(refuse("UNKNOWN_ROLE", `There is no role "${input.role.slice(0, 60)}".`));
  const scope = input.scope?.trim() || role.scopes[0]!;
  if (!isValidScope(scope) || !role.scopes.some((s) => scopeCovers(s, scope)))
    return refused(
      refuse(
        "SCOPE_NOT_ALLOWED",
        `${role.name} applies at ${role.scopes.join(", ")}; "${scope.slice(0, 60)}" is outside it.`,
      ),
    );
  const self = await notOwn(work, admin, principal.id);
  if (!self.ok) {
    refuseAdministration(work, admin.key, action, self.error, describeInput(input), {
      subject: principal.key,
      role: role.key,
      scope,
    });
    return self;
  }
  return ok({ principal, role, scope });
}

async function notOwn(work: Work, admin: Administrator, principalId: string): Promise<Result<void, Refusal>> {
  if (admin.id === null) return ok(undefined);
  const members = await expandToUsers(work.tx, [principalId]);
  return checkNotOwnAssignment(admin.id, { principalId, memberIds: members });
}

async function lockedAssignment(
  work: Work,
  admin: Administrator,
  assignmentId: string,
  action: string,
): Promise<Result<{ row: AssignmentRow; principal: Principal; role: Role }, Refusal>> {
  const row = await getAssignment(work.tx, assignmentId, true);
  if (!row) {
    const refusal = refuse("NOT_FOUND", "This assignment does not exist (any more).");
    refuseAdministration(work, admin.key, action, refusal, { assignmentId });
    return err(refusal);
  }
  const principal = (await principalById(work.tx, row.principalId))!;
  const role = (await rolesByIds(work.tx, [row.roleId])).get(row.roleId)!;
  const self = await notOwn(work, admin, row.principalId);
  if (!self.ok) {
    refuseAdministration(
      work,
      admin.key,
      action,
      self.error,
      { assignmentId },
      {
        subject: principal.key,
        role: role.key,
        scope: row.scope,
      },
    );
    return self;
  }
  return ok({ row, principal, role });
}

async function createAssignment(
  work: Work,
  admin: Administrator,
  principal: Principal,
  role: Role,
  a: { kind: AssignmentKind; scope: string; startsAt: Date | null; endsAt: Date | null; justification: string | null },
): Promise<AssignmentView> {
  const row = await insertAssignment(work.tx, {
    id: newId("asg"),
    principalId: principal.id,
    roleId: role.id,
    scope: a.scope,
    kind: a.kind,
    startsAt: a.startsAt,
    endsAt: a.endsAt,
    justification: a.justification,
    source: admin.id === null ? "cli" : "chat",
    createdBy: admin.key,
    createdAt: work.now,
  });
  work.audit({
    event: "assignment.created",
    actor: admin.key,
    subject: principal.key,
    role: role.key,
    scope: a.scope,
    justification: a.justification,
    data: { kind: a.kind, start: a.startsAt, end: a.endsAt, source: row.source, assignmentId: row.id },
  });
  await scheduleActiveHolding(work, row);
  await tell(work, "created", admin, role, { ...row, pendingId: null }, null);
  return view(row, principal, role);
}

/** Sets a new end, moves the scheduled revoke with it, audits and tells (a change, or an approved extension). */
export async function applyNewEnd(
  work: Work,
  admin: Pick<Administrator, "key">,
  row: AssignmentRow,
  principal: Principal,
  role: Role,
  endsAt: Date | null,
  reason: string,
  startsAt: Date | null = row.startsAt,
): Promise<AssignmentView> {
  const next = { ...row, startsAt, endsAt };
  await setAssignmentEnd(work.tx, row.id, endsAt, startsAt);
  await cancelAssignmentJobs(work.tx, row.id);
  await scheduleActiveHolding(work, next);
  work.audit({
    event: "assignment.updated",
    actor: admin.key,
    subject: principal.key,
    role: role.key,
    scope: row.scope,
    justification: reason,
    data: {
      kind: row.kind,
      assignmentId: row.id,
      reason,
      changes: {
        ...(+(row.endsAt ?? 0) !== +(endsAt ?? 0) ? { endsAt: [row.endsAt, endsAt] } : {}),
        ...(+(row.startsAt ?? 0) !== +(startsAt ?? 0) ? { startsAt: [row.startsAt, startsAt] } : {}),
      },
    },
  });
  await tell(work, "updated", admin, role, { ...next, pendingId: null }, reason);
  return view(next, principal, role);
}

async function enqueueAssignmentJob(work: Work, kind: "grant" | "revoke", a: AssignmentRow, runAt: Date) {
  await enqueueHoldings(work, [
    {
      kind,
      activationId: null,
      runAt,
      payload: { principalId: a.principalId, roleId: a.roleId, scope: a.scope, until: null, assignmentId: a.id },
    },
  ]);
}

async function tell(
  work: Work,
  change: "created" | "pending_step_up" | "updated" | "removed",
  admin: Pick<Administrator, "key">,
  role: Role,
  a: {
    id: string | null;
    pendingId: string | null;
    principalId: string;
    scope: string;
    kind: AssignmentKind;
    endsAt: Date | null;
  },
  reason: string | null,
): Promise<void> {
  const audience = await assignmentAudience(work.tx, role, a.principalId);
  work.emit({
    type: "assignment.changed",
    change,
    assignmentId: a.id,
    pendingId: a.pendingId,
    principalId: a.principalId,
    roleId: role.id,
    scope: a.scope,
    kind: a.kind,
    endsAt: a.endsAt,
    actor: admin.key,
    reason,
    audienceIds: audience.ids,
    alertChannel: audience.alertChannel,
  });
}

export function view(row: AssignmentRow, principal: Pick<Principal, "key">, role: Pick<Role, "key">): AssignmentView {
  return {
    id: row.id,
    principalKey: principal.key,
    roleKey: role.key,
    scope: row.scope,
    kind: row.kind,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    source: row.source,
  };
}

function describeInput(input: AssignInput): Record<string, unknown> {
  return {
    principal: input.principal.slice(0, 100),
    role: input.role.slice(0, 100),
    scope: input.scope ?? null,
    kind: input.kind,
    start: input.startsAt ?? null,
    end: input.endsAt ?? null,
  };
}
