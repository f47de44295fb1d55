import { getActivation, listForPrincipal } from "../../db/repos/activations.js";
import type { AssignmentRow } from "../../db/repos/assignments.js";
import { expandToUsers, heldAssignments, principalById, rolesByIds } from "../../db/repos/directory.js";
import { close } from "../../domain/activation.js";
import { evaluateEligibility } from "../../domain/eligibility.js";
import { scopeCovers } from "../../domain/scope.js";
import { endOne } from "../activation/end.js";
import { recordTransition } from "../activation/transitions.js";
import type { Work } from "../kernel/unit-of-work.js";

/**
 * An eligibility removed by an administrator ends what it backed, in the same transaction:
 * activations through it are revoked and requests waiting on it canceled, unless another
 * eligibility still covers them. Call it after the assignment row is deleted.
 */
export async function endWhatRemovalBacked(
  work: Work,
  removed: AssignmentRow,
  actorKey: string,
  reason: string,
): Promise<void> {
  const role = (await rolesByIds(work.tx, [removed.roleId])).get(removed.roleId)!;
  for (const userId of await expandToUsers(work.tx, [removed.principalId])) {
    const open = (
      await listForPrincipal(work.tx, userId, ["pending_mfa", "pending_approval", "activating", "active"])
    ).filter((a) => a.roleId === removed.roleId && scopeCovers(removed.scope, a.scope));
    if (open.length === 0) continue;
    const held = await heldAssignments(work.tx, userId, [removed.roleId]);
    const who = (await principalById(work.tx, userId))!;
    for (const listed of open) {
      if (evaluateEligibility(held, listed.roleId, listed.scope, work.now).kind === "eligible") continue;
      const a = await getActivation(work.tx, listed.id, true);
      if (!a) continue;
      if (a.status === "active" || a.status === "activating") {
        await endOne(work, a, "revoked", "system", { reason: "eligibility removed", by: actorKey, detail: reason });
      } else if (a.status === "pending_mfa" || a.status === "pending_approval") {
        const closed = close(a, "canceled", "The eligibility it relied on was removed", actorKey, work.now);
        if (closed.ok) await recordTransition(work, a, closed.value, { actor: actorKey, subject: who, role });
      }
    }
  }
}
