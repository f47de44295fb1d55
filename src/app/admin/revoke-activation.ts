import { getActivation, listForPrincipal, type StoredActivation } from "../../db/repos/activations.js";
import { principalById, rolesByIds } from "../../db/repos/directory.js";
import { HOLDING_STATUSES } from "../../domain/activation.js";
import { checkReason } from "../../domain/assignment-rules.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { endOne } from "../activation/end.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAdministrator, refuseAdministration } from "./administrators.js";

/** What to revoke: one activation, or every activation a person holds of a role (at one scope, when given). */
export type RevokeTarget = { activationId: string } | { holderId: string; roleId: string; scope?: string | null };

/**
 * An administrator takes activations away before their end, with a reason: each role is revoked
 * on its target, the reason is audited with the transition, the holder's card is redrawn from the
 * `request.changed` event the transition publishes, and the holder is told who revoked what and
 * why through an `activation.revoked` event. Administrators by the same rule as every
 * administrative action (an active administrator role counts); a non-administrator's attempt is
 * audited and alerted. Nobody revokes their own activation here: they end it themselves. The
 * `pim activations end` command, `/elevate revoke` and the Revoke button all come here.
 */
export async function revokeActivationAsAdmin(
  deps: EngineDeps,
  actor: Actor,
  target: RevokeTarget,
  reason: string,
): Promise<Result<StoredActivation[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "activation.revoke", detailOf(target));
    if (!admin.ok) return admin;
    const found = await targetsOf(work, target);
    const first = found[0];
    const names = first ? await namesOf(work, first) : {};
    const refused = (refusal: Refusal) => {
      refuseAdministration(work, admin.value.key, "activation.revoke", refusal, detailOf(target), names);
      return err(refusal);
    };
    if (!first)
      return refused(
        refuse(
          "NOT_FOUND",
          "activationId" in target
            ? "This activation does not exist."
            : "They hold no such role now: nothing to revoke.",
        ),
      );
    if (admin.value.id === first.principalId)
      return refused(refuse("SELF_ASSIGNMENT", "This is your own activation: end it with End now instead."));
    const why = checkReason(reason, "A reason for the revocation");
    if (!why.ok) return refused(why.error);
    const live = found.filter((a) => a.status === "active" || a.status === "activating");
    if (live.length === 0)
      return refused(
        refuse("WRONG_STATE", `This activation is ${first.status.replace("_", " ")}; there is nothing to revoke.`),
      );
    const revoked: StoredActivation[] = [];
    for (const a of live) {
      const done = await endOne(work, a, "revoked", admin.value.id ?? admin.value.key, {
        reason: why.value,
        revokedBy: admin.value.key,
      });
      if (!done.ok) continue;
      revoked.push(done.value);
      work.emit({
        type: "activation.revoked",
        activationId: a.id,
        requestId: a.requestId,
        holderId: a.principalId,
        revokedBy: admin.value.name,
        reason: why.value,
      });
    }
    return ok(revoked);
  });
}

function detailOf(target: RevokeTarget): Record<string, unknown> {
  return "activationId" in target
    ? { activationId: target.activationId }
    : { holderId: target.holderId, roleId: target.roleId, scope: target.scope ?? null };
}

async function targetsOf(work: Work, target: RevokeTarget): Promise<StoredActivation[]> {
  if ("activationId" in target) {
    const a = await getActivation(work.tx, target.activationId, true);
    return a ? [a] : [];
  }
  const held = await listForPrincipal(work.tx, target.holderId, HOLDING_STATUSES);
  const wanted = held.filter(
    (a) =>
      a.roleId === target.roleId && (target.scope === undefined || target.scope === null || a.scope === target.scope),
  );
  const locked: StoredActivation[] = [];
  for (const a of wanted) {
    const row = await getActivation(work.tx, a.id, true);
    if (row) locked.push(row);
  }
  return locked;
}

async function namesOf(work: Work, a: StoredActivation) {
  const holder = await principalById(work.tx, a.principalId);
  const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId);
  return { subject: holder?.key ?? a.principalId, role: role?.key ?? a.roleId, scope: a.scope };
}
