import { getActivation, listForPrincipal, type StoredActivation } from "../db/repos/activations.js";
import { principalById } from "../db/repos/directory.js";
import { HOLDING_STATUSES } from "../domain/activation.js";
import { type Refusal, refuse } from "../domain/refusal.js";
import { err, ok, type Result } from "../domain/result.js";
import { type EngineDeps, inTransaction, type Work } from "./context.js";
import { endOne } from "./end-activation.js";

export const MAX_REVOKE_REASON_LENGTH = 500;

/** What to revoke: one activation, or every activation a person holds of a role (optionally at one scope). */
export type RevokeTarget = { activationId: string } | { principalId: string; roleId: string; scope?: string | null };

export interface RevokeByAdminInput {
  adminId: string;
  target: RevokeTarget;
  reason: string;
}

/**
 * An administrator takes activations away before their end, with a reason. Each one starts its
 * revoke on the target (audited as `activation.ending`, reason `revoked`, with the reason given),
 * and its holder is told through an `activation.revoked` event. Every refusal is audited.
 */
export async function revokeByAdmin(
  deps: EngineDeps,
  input: RevokeByAdminInput,
): Promise<Result<StoredActivation[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await principalById(work.tx, input.adminId);
    const refused = (refusal: Refusal) => {
      work.audit({
        event: "activation.revoke_refused",
        actor: admin?.key ?? input.adminId,
        data: { code: refusal.code, message: refusal.message, target: input.target },
      });
      return err(refusal);
    };
    if (!admin?.admin || admin.retiredAt)
      return refused(refuse("NOT_ALLOWED", "Only PIM administrators can revoke someone else's activation."));
    const reason = input.reason.trim();
    if (reason === "") return refused(refuse("REASON_REQUIRED", "Say why you revoke it: the holder is told."));
    if (reason.length > MAX_REVOKE_REASON_LENGTH)
      return refused(refuse("REASON_REQUIRED", `The reason must be at most ${MAX_REVOKE_REASON_LENGTH} characters.`));

    const targets = await targetsOf(work, input.target);
    if (targets.length === 0) return refused(refuse("NOT_FOUND", "There is no such active role to revoke."));
    const revoked: StoredActivation[] = [];
    for (const a of targets) {
      const done = await endOne(work, a, "revoked", admin.id, { adminReason: reason });
      if (!done.ok) continue;
      revoked.push(done.value);
      work.emit({
        type: "activation.revoked",
        activationId: a.id,
        requestId: a.requestId,
        holderId: a.principalId,
        revokedBy: admin.key,
        reason,
      });
    }
    if (revoked.length === 0) return refused(refuse("WRONG_STATE", "That activation is not active any more."));
    return ok(revoked);
  });
}

async function targetsOf(work: Work, target: RevokeTarget): Promise<StoredActivation[]> {
  if ("activationId" in target) {
    const a = await getActivation(work.tx, target.activationId, true);
    return a ? [a] : [];
  }
  const held = await listForPrincipal(work.tx, target.principalId, HOLDING_STATUSES);
  return held.filter(
    (a) =>
      a.roleId === target.roleId && (target.scope === undefined || target.scope === null || a.scope === target.scope),
  );
}
