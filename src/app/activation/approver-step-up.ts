import type { StoredActivation } from "../../db/repos/activations.js";
import type { Principal, Role } from "../../db/repos/directory.js";
import type { MfaMethod } from "../../domain/policy.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import type { Work } from "../kernel/unit-of-work.js";
import type { MfaEvidence } from "./satisfy-mfa.js";

/**
 * Approver step-up: on roles whose policy sets `approverStepUp`, an Approve click counts only
 * once the approver has also passed MFA, so a hijacked chat session cannot approve. `decide`
 * refuses such a click with STEP_UP_REQUIRED; chat then sends the approver a step-up link
 * (MfaService.approvalLinkFor), and the MFA pages call `decide` again with the evidence.
 */
export function rolesNeedingStepUp(roles: Role[]): Role[] {
  return roles.filter((role) => role.policy.activation.approverStepUp);
}

/** The methods every guarded role accepts; an approver's step-up must use one of them. */
export function stepUpMethods(roles: Role[]): MfaMethod[] {
  const [first, ...rest] = rolesNeedingStepUp(roles);
  if (!first) return [];
  return first.policy.activation.mfaMethods.filter((m) =>
    rest.every((r) => r.policy.activation.mfaMethods.includes(m)),
  );
}

export function checkStepUpEvidence(roles: Role[], evidence: MfaEvidence): Result<void, Refusal> {
  const refusing = rolesNeedingStepUp(roles).find((r) => !r.policy.activation.mfaMethods.includes(evidence.method));
  if (!refusing) return ok(undefined);
  return err(
    refuse(
      "NOT_ALLOWED",
      `${refusing.name} does not accept ${evidence.method}; use ${refusing.policy.activation.mfaMethods.join(" or ")}.`,
    ),
  );
}

/** Records the approval waiting for its step-up and tells the approver what to do. */
export function stepUpRequired(
  work: Work,
  approver: Principal,
  requester: Principal,
  rows: StoredActivation[],
  comment: string | null,
): Refusal {
  work.audit({
    event: "approval.step_up_required",
    actor: approver.key,
    subject: requester.key,
    requestId: rows[0]!.requestId,
    decision: "approve",
    approver: approver.key,
    data: { comment, activations: rows.map((r) => r.id) },
  });
  return refuse(
    "STEP_UP_REQUIRED",
    "Approving this role needs a step-up: confirm it's you with the link sent to you, then your approval counts.",
  );
}
