import { getActivation, lockRequest, type StoredActivation } from "../../db/repos/activations.js";
import { principalById, rolesByIds } from "../../db/repos/directory.js";
import { withdrawScheduledGrant } from "../../db/repos/outbox.js";
import { beginEnd, close, type EndReason, isWaitingToStart } from "../../domain/activation.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { auditRefused } from "../kernel/refusals.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { enqueueHoldings, revokeFor } from "./holding-jobs.js";
import { recordTransition, recordTransitions, transitionNames } from "./transitions.js";

/** The user ends their own activation early; the role is revoked on the target right away. */
export async function deactivate(
  deps: EngineDeps,
  activationId: string,
  userId: string,
): Promise<Result<StoredActivation, Refusal>> {
  return inTransaction(deps, async (work) => {
    const a = await getActivation(work.tx, activationId, true);
    if (!a) return err(refuse("NOT_FOUND", "This activation does not exist."));
    if (a.principalId !== userId) {
      const refusal = refuse("NOT_YOURS", "You can only end your own activations.");
      await auditRefused(work, refusal, {
        action: "end",
        actorId: userId,
        ownerId: a.principalId,
        requestId: a.requestId,
        activationId: a.id,
      });
      return err(refusal);
    }
    const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId)!;
    if (!role.policy.activation.allowEarlyDeactivation) {
      return err(
        refuse(
          "EARLY_DEACTIVATION_DISABLED",
          `${role.name} cannot be ended early; it ends by itself when its time is up.`,
        ),
      );
    }
    return endOne(work, a, "deactivated", userId);
  });
}

/**
 * The requester withdraws a request that is still waiting for MFA or approval, or whose scheduled
 * start has not come (its queued grant is taken back, so nothing reaches the target).
 */
export async function cancelRequest(
  deps: EngineDeps,
  requestId: string,
  userId: string,
): Promise<Result<StoredActivation[], Refusal>> {
  return inTransaction(deps, async (work) => {
    const rows = await lockRequest(work.tx, requestId);
    if (rows.length === 0) return err(refuse("NOT_FOUND", "This request does not exist."));
    if (rows[0]!.principalId !== userId) {
      const refusal = refuse("NOT_YOURS", "You can only cancel your own requests.");
      await auditRefused(work, refusal, {
        action: "cancel",
        actorId: userId,
        ownerId: rows[0]!.principalId,
        requestId,
      });
      return err(refusal);
    }
    const who = (await principalById(work.tx, userId))!;
    const roles = await rolesByIds(
      work.tx,
      rows.map((r) => r.roleId),
    );
    const after: StoredActivation[] = [];
    for (const row of rows) {
      const closed = close(row, "canceled", "Canceled by the requester", who.key, work.now);
      if (closed.ok && isWaitingToStart(row, work.now) && !(await withdrawScheduledGrant(work.tx, row.id, work.now)))
        continue;
      if (closed.ok)
        after.push(
          await recordTransition(work, row, closed.value, {
            actor: who.key,
            subject: who,
            role: roles.get(row.roleId)!,
          }),
        );
    }
    if (after.length === 0) return err(refuse("WRONG_STATE", "Nothing in this request is waiting any more."));
    return ok(after);
  });
}

/**
 * Ends activations (active → ending) and writes their revokes, in one statement each whatever
 * their number; those that cannot end (already ending, say) are left as they are.
 */
export async function endActivations(
  work: Work,
  items: { activation: StoredActivation; reason: EndReason; byId: string; data?: Record<string, unknown> }[],
): Promise<StoredActivation[]> {
  const moves = items.flatMap((item) => {
    const next = beginEnd(item.activation, item.reason, item.byId, work.now);
    return next.ok ? [{ ...item, next: next.value }] : [];
  });
  if (moves.length === 0) return [];
  const names = await transitionNames(
    work,
    moves.map((m) => ({ activation: m.activation, actorId: m.byId })),
  );
  const saved = await recordTransitions(
    work,
    moves.map((m, i) => ({ before: m.activation, after: m.next, names: names[i]!, data: m.data ?? {} })),
  );
  await enqueueHoldings(
    work,
    moves.map((m) => revokeFor(m.next, work.now)),
  );
  return saved;
}

/** endActivations for one activation, with the reason it cannot end when it cannot. */
export async function endOne(
  work: Work,
  a: StoredActivation,
  reason: EndReason,
  byId: string,
  data: Record<string, unknown> = {},
): Promise<Result<StoredActivation, Refusal>> {
  const next = beginEnd(a, reason, byId, work.now);
  if (!next.ok) return next;
  const [saved] = await endActivations(work, [{ activation: a, reason, byId, data }]);
  return ok(saved!);
}
