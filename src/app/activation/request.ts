import { insertActivations, listForPrincipal, type StoredActivation } from "../../db/repos/activations.js";
import { heldAssignments, principalById, type Role, rolesByIds } from "../../db/repos/directory.js";
import { type Activation, type In, PENDING_STATUSES, submit } from "../../domain/activation.js";
import { checkFeasible } from "../../domain/approval.js";
import { evaluateEligibility, type HeldAssignment } from "../../domain/eligibility.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { planRoleRequest, type RequestPlan } from "../../domain/request-rules.js";
import { err, ok, type Result } from "../../domain/result.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { approversFor } from "./approvers.js";
import { enqueueHoldings, grantFor } from "./holding-jobs.js";
import { activationAudit } from "./transitions.js";

export type Origin = "slack" | "teams" | "api" | "cli";

export interface RequestActivationInput {
  requesterId: string;
  roles: { roleId: string; scope?: string | null }[];
  durationMs: number;
  justification?: string | null;
  ticket?: string | null;
  origin: Origin;
  /** Set by extension requests: the active activation the new one replaces without a gap. */
  extendsId?: string | null;
  /** A scheduled start (at most a month ahead, inside the eligibility); absent or null: now. */
  startsAt?: Date | null;
}

/** A refusal of a whole request, naming the role it is about when there is one. */
export type RequestRefusal = Refusal & { roleId?: string };

export interface RequestOutcome {
  requestId: string;
  activations: StoredActivation[];
}

/**
 * Requests one or several roles at once. Each role is checked against its own policy and the
 * request is refused as a whole if any role is refused, so nobody ends up with half of what they asked for.
 */
export async function requestActivation(
  deps: EngineDeps,
  input: RequestActivationInput,
): Promise<Result<RequestOutcome, RequestRefusal>> {
  return inTransaction(deps, async (work) => {
    const refused = (refusal: RequestRefusal) => {
      work.audit({
        event: "activation.refused",
        actor: requester?.key ?? input.requesterId,
        subject: requester?.key,
        data: { code: refusal.code, message: refusal.message, roleId: refusal.roleId },
      });
      return err(refusal);
    };
    const requester = await principalById(work.tx, input.requesterId);
    if (requester?.kind !== "user")
      return err(refuse("UNKNOWN_PRINCIPAL", "You are not known to PIM; ask an administrator to add you."));
    if (input.roles.length === 0) return refused(refuse("NO_ROLES", "Pick at least one role."));

    const roleIds = [...new Set(input.roles.map((r) => r.roleId))];
    const roles = await rolesByIds(work.tx, roleIds);
    const missing = roleIds.find((id) => !roles.get(id) || roles.get(id)!.retiredAt);
    if (missing) return refused({ ...refuse("UNKNOWN_ROLE", `There is no role ${missing}.`), roleId: missing });

    // Two reads that travel together.
    const [held, current] = await Promise.all([
      heldAssignments(work.tx, requester.id, roleIds),
      listForPrincipal(work.tx, requester.id, ["activating", "active", ...PENDING_STATUSES]),
    ]);
    const open = current
      .filter((a) => a.id !== input.extendsId)
      .map((a) => ({ roleId: a.roleId, scope: a.scope, status: a.status }));

    const requestId = newId("req");
    const planned: { role: Role; scope: string; plan: RequestPlan; approvers: Set<string> }[] = [];
    for (const wanted of input.roles) {
      const role = roles.get(wanted.roleId)!;
      const scope = wanted.scope ?? defaultScope(role, held, work.now);
      const plan = planRoleRequest(
        {
          role,
          scope,
          durationMs: input.durationMs,
          justification: input.justification ?? null,
          ticket: input.ticket ?? null,
          startsAt: input.startsAt ?? null,
        },
        { breakGlass: requester.breakGlass, held, open },
        work.now,
      );
      if (!plan.ok) return refused({ ...plan.error, roleId: role.id });
      let approvers = new Set<string>();
      if (plan.value.approvalRequired) {
        approvers = await approversFor(work.tx, role, requester.id, work.now);
        const feasible = checkFeasible(plan.value.approvalsNeeded, approvers, role.name);
        if (!feasible.ok) return refused({ ...feasible.error, roleId: role.id });
      }
      open.push({ roleId: role.id, scope, status: "pending_approval" });
      planned.push({ role, scope, plan: plan.value, approvers });
    }

    const created = planned.map(({ role, scope, plan }) => {
      const requested: In<"requested"> = {
        status: "requested",
        id: newId("act"),
        requestId,
        principalId: requester.id,
        roleId: role.id,
        scope,
        durationMs: input.durationMs,
        justification: input.justification?.trim() || null,
        ticket: input.ticket?.trim() || null,
        requestedAt: work.now,
        mfaRequired: plan.mfaRequired,
        mfaSatisfiedAt: null,
        approvalRequired: plan.approvalRequired,
        approvalsNeeded: plan.approvalsNeeded,
        approvalDeadline:
          plan.mfaRequired || plan.approvalRequired ? new Date(work.now.getTime() + plan.approvalTimeoutMs) : null,
        extendsId: input.extendsId ?? null,
        startsAt: scheduledStart(input.startsAt, work.now),
      };
      return { role, requested, next: submit(requested), basis: plan.basis };
    });
    await insertActivations(
      work.tx,
      created.map(({ next, basis }) => ({ activation: next, origin: input.origin, basis })),
    );

    for (const { role, requested, next, basis } of created) {
      const names = activationAudit(next, requester, role);
      work.audit({
        event: "activation.requested",
        actor: requester.key,
        ...names,
        data: {
          durationMs: input.durationMs,
          origin: input.origin,
          extendsId: requested.extendsId,
          ...(requested.startsAt ? { startsAt: requested.startsAt.toISOString() } : {}),
        },
      });
      work.audit({ event: `activation.${next.status}`, actor: "system", ...names, data: { from: "requested" } });
      if (basis === "break_glass") await recordBreakGlassUse(work, requester.key, role, next);
    }
    await enqueueHoldings(
      work,
      created.flatMap(({ next }) => (next.status === "activating" ? [grantFor(next, work)] : [])),
    );
    const approverIds = [...new Set(planned.flatMap((p) => [...p.approvers]))];
    if (created.some((c) => c.next.status === "pending_approval"))
      work.emit({ type: "approval.needed", requestId, approverIds });
    work.emit({ type: "request.changed", requestId });
    return ok({
      requestId,
      activations: created.map(({ next, basis }) => ({ ...next, version: 0, origin: input.origin, basis })),
    });
  });
}

async function recordBreakGlassUse(work: Work, who: string, role: Role, a: Activation) {
  work.audit({
    event: "breakglass.used",
    actor: who,
    subject: who,
    role: role.key,
    scope: a.scope,
    requestId: a.requestId,
    activationId: a.id,
    justification: a.justification,
  });
  work.emit({
    type: "alert",
    kind: "break_glass_used",
    subject: who,
    detail: { role: role.key, scope: a.scope, activationId: a.id },
  });
}

/** A start that is not later than now is no schedule at all. */
function scheduledStart(startsAt: Date | null | undefined, now: Date): Date | null {
  return startsAt && startsAt > now ? startsAt : null;
}

/** With no scope given: the scope of the one eligibility in force, else the role's only scope, else "/". */
function defaultScope(role: Role, held: HeldAssignment[], now: Date): string {
  const eligible = held.filter(
    (h) =>
      h.roleId === role.id &&
      h.kind === "eligible" &&
      evaluateEligibility([h], role.id, h.scope, now).kind === "eligible",
  );
  const scopes = [...new Set(eligible.map((h) => h.scope))];
  if (scopes.length === 1) return scopes[0]!;
  return role.scopes.length === 1 ? role.scopes[0]! : "/";
}
