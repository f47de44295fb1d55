import { getActivation, type StoredActivation } from "../db/repos/activations.js";
import { principalById, rolesByIds } from "../db/repos/directory.js";
import { close, confirmGrant, confirmRevoke } from "../domain/activation.js";
import { recordTransition, type Work } from "./context.js";
import { endOne } from "./end-activation.js";

/**
 * What the outbox worker reports back, inside the transaction that completes the job. Each is a
 * no-op when the activation has already moved on (a repeated or late confirmation).
 */
export async function grantConfirmed(work: Work, activationId: string): Promise<StoredActivation | undefined> {
  const a = await getActivation(work.tx, activationId, true);
  if (!a) return undefined;
  const next = confirmGrant(a, work.now);
  if (!next.ok) return undefined;
  const names = await namesFor(work, a);
  const saved = await recordTransition(work, a, next.value, names);
  work.emit({ type: "activation.active", activationId: a.id, endsAt: next.value.endsAt });
  if (a.extendsId) {
    // The extension now holds the role, so ending the one it replaces revokes nothing.
    const old = await getActivation(work.tx, a.extendsId, true);
    if (old?.status === "active") await endOne(work, old, "superseded", "system", { by: a.id });
  }
  return saved;
}

export async function grantFailed(
  work: Work,
  activationId: string,
  reason: string,
): Promise<StoredActivation | undefined> {
  const a = await getActivation(work.tx, activationId, true);
  if (!a) return undefined;
  const next = close(a, "failed", reason, "system", work.now);
  if (!next.ok) return undefined;
  work.emit({ type: "alert", kind: "grant_failed", subject: a.principalId, detail: { activationId, reason } });
  return recordTransition(work, a, next.value, await namesFor(work, a), { data: { error: reason } });
}

export async function revokeConfirmed(work: Work, activationId: string): Promise<StoredActivation | undefined> {
  const a = await getActivation(work.tx, activationId, true);
  if (!a) return undefined;
  const next = confirmRevoke(a, work.now);
  if (!next.ok) return undefined;
  return recordTransition(work, a, next.value, await namesFor(work, a));
}

async function namesFor(work: Work, a: StoredActivation) {
  const subject = (await principalById(work.tx, a.principalId))!;
  const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId)!;
  return { actor: "system", subject, role };
}
