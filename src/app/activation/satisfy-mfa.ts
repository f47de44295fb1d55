import { getActivation, lockRequest, type StoredActivation } from "../../db/repos/activations.js";
import { principalById, rolesByIds } from "../../db/repos/directory.js";
import { satisfyMfa as satisfy } from "../../domain/activation.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { approversFor } from "./approvers.js";
import { enqueueHoldings, grantFor } from "./holding-jobs.js";
import { lostBackingOf } from "./offboarding.js";
import { recordTransition } from "./transitions.js";

export interface MfaEvidence extends Record<string, unknown> {
  method: "totp" | "passkey" | "oidc";
}

/**
 * Records a passed step-up. One step-up covers every role of the request that waits for it; the
 * method must be one the role's policy accepts.
 */
export async function satisfyMfa(
  deps: EngineDeps,
  activationId: string,
  userId: string,
  evidence: MfaEvidence,
): Promise<Result<StoredActivation[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const target = await getActivation(work.tx, activationId);
    if (!target) return err(refuse("NOT_FOUND", "This request does not exist."));
    if (target.principalId !== userId) {
      work.audit({
        event: "mfa.refused",
        actor: userId,
        activationId,
        requestId: target.requestId,
        data: { code: "NOT_YOURS" },
      });
      return err(refuse("NOT_YOURS", "This step-up belongs to someone else's request."));
    }
    const rows = (await lockRequest(work.tx, target.requestId)).filter((r) => r.status === "pending_mfa");
    if (rows.length === 0) return err(refuse("WRONG_STATE", "This request is not waiting for MFA."));
    const requester = (await principalById(work.tx, userId))!;
    const lost = await lostBackingOf(work, requester, rows, "your");
    if (lost) {
      work.audit({
        event: "mfa.refused",
        actor: requester.key,
        activationId,
        requestId: target.requestId,
        data: { code: lost.code },
      });
      return err(lost);
    }
    const roles = await rolesByIds(
      work.tx,
      rows.map((r) => r.roleId),
    );
    const unaccepted = rows
      .map((r) => roles.get(r.roleId)!)
      .find((role) => !role.policy.activation.mfaMethods.includes(evidence.method));
    if (unaccepted) {
      return err(
        refuse(
          "NOT_ALLOWED",
          `${unaccepted.name} does not accept ${evidence.method}; use ${unaccepted.policy.activation.mfaMethods.join(" or ")}.`,
        ),
      );
    }
    const after: StoredActivation[] = [];
    let approverIds: string[] = [];
    for (const row of rows) {
      const role = roles.get(row.roleId)!;
      const next = satisfy(row, work.now);
      if (!next.ok) continue;
      after.push(
        await recordTransition(
          work,
          row,
          next.value,
          { actor: requester.key, subject: requester, role },
          { evidence, data: { method: evidence.method } },
        ),
      );
      if (next.value.status === "activating") await enqueueHoldings(work, [grantFor(next.value, work)]);
      else approverIds = [...approverIds, ...(await approversFor(work.tx, role, requester.id, work.now))];
    }
    if (after.some((a) => a.status === "pending_approval")) {
      work.emit({ type: "approval.needed", requestId: target.requestId, approverIds: [...new Set(approverIds)] });
    }
    return ok(after);
  });
}
