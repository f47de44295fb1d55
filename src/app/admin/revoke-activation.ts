import { getActivation, type StoredActivation } from "../../db/repos/activations.js";
import { principalById, rolesByIds } from "../../db/repos/directory.js";
import { checkReason } from "../../domain/assignment-rules.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction } from "../context.js";
import { endOne } from "../end-activation.js";
import { type Actor, authorizeAdministrator, refuseAdministration } from "./administrators.js";

/**
 * An administrator takes an activation away before its end, with a reason: the role is revoked
 * on the target, the reason is audited with the transition, and the holder's card is redrawn
 * from the `request.changed` event the transition publishes. Administrators by the same rule as
 * every administrative action (an active administrator role counts); nobody revokes their own
 * activation here — they end it themselves.
 */
export async function revokeActivationAsAdmin(
  deps: EngineDeps,
  actor: Actor,
  activationId: string,
  reason: string,
): Promise<Result<StoredActivation, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "activation.revoke", { activationId });
    if (!admin.ok) return admin;
    const a = await getActivation(work.tx, activationId, true);
    const refused = (refusal: Refusal, names: { subject?: string; role?: string; scope?: string } = {}) => {
      refuseAdministration(work, admin.value.key, "activation.revoke", refusal, { activationId }, names);
      return err(refusal);
    };
    if (!a) return refused(refuse("NOT_FOUND", "This activation does not exist."));
    const holder = (await principalById(work.tx, a.principalId))!;
    const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId)!;
    const names = { subject: holder.key, role: role.key, scope: a.scope };
    if (admin.value.id === a.principalId)
      return refused(refuse("SELF_ASSIGNMENT", "This is your own activation: end it with End now instead."), names);
    const why = checkReason(reason, "A reason for the revocation");
    if (!why.ok) return refused(why.error, names);
    if (a.status !== "active" && a.status !== "activating")
      return refused(
        refuse("WRONG_STATE", `This activation is ${a.status.replace("_", " ")}; there is nothing to revoke.`),
        names,
      );
    return endOne(work, a, "revoked", admin.value.id ?? admin.value.key, {
      reason: why.value,
      revokedBy: admin.value.key,
    });
  });
}
