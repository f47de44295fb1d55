import type { Executor } from "../../db/client.js";
import { activationCountsSince, awaitingApproval } from "../../db/repos/activation-queries.js";
import { decisionsFor, listForPrincipal, listRequest, type StoredActivation } from "../../db/repos/activations.js";
import {
  allRoles,
  heldAssignments,
  type Principal,
  principalsByIds,
  type Role,
  rolesByIds,
} from "../../db/repos/directory.js";
import { type ActivationStatus, describeStatus, HOLDING_STATUSES, OPEN_STATUSES } from "../../domain/activation.js";
import { DAY } from "../../domain/duration.js";
import { evaluateEligibility } from "../../domain/eligibility.js";
import {
  type DecisionView,
  type EligibleRoleView,
  type PersonView,
  person,
  type RequestView,
  type RoleInRequestView,
} from "../../domain/request-view.js";
import { approversFor } from "./approvers.js";

export type { DecisionView, EligibleRoleView, PersonView, RequestView, RoleInRequestView };
export { person };

const STATUS_ORDER: ActivationStatus[] = [
  "requested",
  "pending_mfa",
  "pending_approval",
  "activating",
  "active",
  "ending",
  "ended",
  "failed",
  "timed_out",
  "canceled",
  "denied",
];

export async function getRequestView(db: Executor, requestId: string, now: Date): Promise<RequestView | undefined> {
  const rows = await listRequest(db, requestId);
  const first = rows[0];
  if (!first) return undefined;
  const roles = await rolesByIds(
    db,
    rows.map((r) => r.roleId),
  );
  const decisions = await decisionsFor(
    db,
    rows.map((r) => r.id),
  );
  const approverSets = await Promise.all(
    rows.filter((r) => r.approvalRequired).map((r) => approversFor(db, roles.get(r.roleId)!, r.principalId, now)),
  );
  const approverIds = [...new Set(approverSets.flatMap((s) => [...s]))];
  const people = await principalsByIds(db, [first.principalId, ...approverIds, ...decisions.map((d) => d.approverId)]);
  const since = new Date(now.getTime() - 30 * DAY);
  const counts = await activationCountsSince(
    db,
    first.principalId,
    rows.map((r) => r.roleId),
    since,
  );
  const seen = new Set<string>();
  const uniqueDecisions = decisions.filter((d) => {
    const k = `${d.approverId}|${d.decision}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return {
    requestId,
    requester: person(people.get(first.principalId)!),
    requestedAt: first.requestedAt,
    durationMs: first.durationMs,
    justification: first.justification,
    ticket: first.ticket,
    origin: first.origin,
    extendsId: first.extendsId,
    startsAt: first.startsAt,
    roles: rows.map((r) => roleInRequest(r, roles.get(r.roleId)!, decisions, counts.get(r.roleId) ?? 0)),
    status: rows.map((r) => r.status).sort((a, b) => STATUS_ORDER.indexOf(a) - STATUS_ORDER.indexOf(b))[0]!,
    approvalDeadline: first.approvalDeadline,
    decisions: uniqueDecisions.map((d) => ({
      approver: person(people.get(d.approverId)!),
      decision: d.decision,
      comment: d.comment,
      at: d.decidedAt,
    })),
    approvers: approverIds.map((id) => person(people.get(id)!)),
  };
}

function roleInRequest(
  a: StoredActivation,
  role: Role,
  decisions: { activationId: string; decision: string }[],
  recent: number,
): RoleInRequestView {
  return {
    activationId: a.id,
    roleId: role.id,
    roleKey: role.key,
    roleName: role.name,
    scope: a.scope,
    status: a.status,
    statusText: describeStatus(a),
    activatedAt: "activatedAt" in a ? a.activatedAt : null,
    endsAt: "endsAt" in a ? a.endsAt : null,
    startsAt: a.startsAt,
    reason: "reason" in a ? a.reason : null,
    approvalsNeeded: a.approvalsNeeded,
    approvalsSoFar: decisions.filter((d) => d.activationId === a.id && d.decision === "approve").length,
    recentActivations: recent,
    allowEarlyDeactivation: role.policy.activation.allowEarlyDeactivation,
    approvalCommentRequired: role.policy.activation.requireApprovalComment ?? false,
  };
}

/** What a user may activate now, with each role's rules (for /elevate and the request form). */
export async function eligibleRoles(db: Executor, userId: string, now: Date): Promise<EligibleRoleView[]> {
  const held = await heldAssignments(db, userId);
  const roles = await rolesByIds(db, [...new Set(held.map((h) => h.roleId))]);
  const open = await listForPrincipal(db, userId, [...OPEN_STATUSES]);
  const out: EligibleRoleView[] = [];
  for (const role of roles.values()) {
    if (role.retiredAt) continue;
    const scopes = [
      ...new Set(held.filter((h) => h.roleId === role.id && h.kind === "eligible").map((h) => h.scope)),
    ].filter((scope) => evaluateEligibility(held, role.id, scope, now).kind === "eligible");
    if (scopes.length === 0) continue;
    const until = held
      .filter((h) => h.roleId === role.id && h.kind === "eligible")
      .map((h) => h.endsAt)
      .reduce<Date | null | undefined>(
        (acc, end) => (acc === null || end === null ? null : !acc || end > acc ? end : acc),
        undefined,
      );
    out.push({
      roleId: role.id,
      roleKey: role.key,
      roleName: role.name,
      description: role.description,
      scopes: scopes.sort(),
      eligibleUntil: until ?? null,
      policy: role.policy.activation,
      busy: open.some((a) => a.roleId === role.id),
    });
  }
  return out.sort((a, b) => a.roleName.localeCompare(b.roleName));
}

/** A user's open activations and pending requests, newest first. */
export async function myActivations(db: Executor, userId: string): Promise<StoredActivation[]> {
  return (await listForPrincipal(db, userId, [...OPEN_STATUSES])).reverse();
}

/** Requests waiting for this user's decision. */
export async function pendingForApprover(db: Executor, userId: string, now: Date, limit = 50): Promise<RequestView[]> {
  const waiting = await awaitingApproval(db, 1000);
  const requestIds: string[] = [];
  const roles = await rolesByIds(db, [...new Set(waiting.map((r) => r.roleId))]);
  for (const row of waiting) {
    if (requestIds.includes(row.requestId) || row.principalId === userId) continue;
    const decided = (await decisionsFor(db, [row.id])).some((d) => d.approverId === userId);
    if (decided) continue;
    if ((await approversFor(db, roles.get(row.roleId)!, row.principalId, now)).has(userId))
      requestIds.push(row.requestId);
    if (requestIds.length >= limit) break;
  }
  const views = await Promise.all(requestIds.map((id) => getRequestView(db, id, now)));
  return views.filter((v): v is RequestView => v !== undefined);
}

/** The activation of a role a user holds now, by role key or name (for `/elevate end <role>`). */
export async function findHolding(db: Executor, userId: string, roleText: string | null): Promise<StoredActivation[]> {
  const open = await listForPrincipal(db, userId, [...HOLDING_STATUSES]);
  if (!roleText) return open;
  const roles = await rolesByIds(
    db,
    open.map((a) => a.roleId),
  );
  const t = roleText.trim().toLowerCase();
  return open.filter((a) => {
    const role = roles.get(a.roleId)!;
    return role.key === t || role.name.toLowerCase() === t;
  });
}

/**
 * The roles a person may ask for now: their eligibilities, or, for a break-glass account, every
 * role (break-glass skips eligibility, MFA and approval, and every use raises an alert).
 */
export async function requestableRoles(db: Executor, who: Principal, now: Date): Promise<EligibleRoleView[]> {
  if (!who.breakGlass) return eligibleRoles(db, who.id, now);
  const open = await myActivations(db, who.id);
  return (await allRoles(db)).map((role) => ({
    roleId: role.id,
    roleKey: role.key,
    roleName: role.name,
    description: role.description,
    scopes: role.scopes,
    eligibleUntil: null,
    policy: role.policy.activation,
    busy: open.some((a) => a.roleId === role.id),
  }));
}
