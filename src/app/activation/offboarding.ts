import { getActivation, lockByStatus, type StoredActivation } from "../../db/repos/activations.js";
import { type Principal, principalsNow, rolesByIds } from "../../db/repos/directory.js";
import { close } from "../../domain/activation.js";
import type { Refusal } from "../../domain/refusal.js";
import type { Work } from "../kernel/unit-of-work.js";
import { endOne } from "./end.js";
import { type LostBacking, lostBacking, lostBackingRefusal } from "./entitlement.js";
import { recordTransition } from "./transitions.js";

const AT_STAKE = ["pending_mfa", "pending_approval", "activating", "active"] as const;

export interface EndedAccess {
  revoked: number;
  canceled: number;
}

/**
 * Ends what nothing backs any more, inside the transaction that took the backing away (apply):
 * activations of people who left the policy or lost their eligibility (directly or through a
 * group) are revoked, and their pending requests canceled, each transition audited with why.
 */
export async function endUnbackedAccess(work: Work): Promise<EndedAccess> {
  const open = await lockByStatus(work.tx, AT_STAKE);
  const holders = await principalsNow(
    work.tx,
    open.map((a) => a.principalId),
  );
  const ended: EndedAccess = { revoked: 0, canceled: 0 };
  for (const a of open) {
    const lost = await lostBacking(work.tx, holders.get(a.principalId), a, work.now, true);
    if (!lost) continue;
    if (a.status === "active" || a.status === "activating") {
      const done = await endOne(work, a, "revoked", "system", { cause: lost });
      if (done.ok) ended.revoked++;
    } else if (await cancelPending(work, a, lost)) ended.canceled++;
  }
  return ended;
}

/**
 * The grant job found the requester no longer entitled right before granting (an apply or a
 * removal raced it) and made no call: the activation is revoked instead of confirmed, audited
 * with why. A no-op when it has already moved on.
 */
export async function endUngranted(work: Work, activationId: string, lost: Exclude<LostBacking, null>): Promise<void> {
  const a = await getActivation(work.tx, activationId, true);
  if (a?.status !== "activating") return;
  await endOne(work, a, "revoked", "system", { cause: lost, granted: false });
}

/** Cancels one waiting activation whose requester lost the backing; true when it was waiting. */
export async function cancelPending(
  work: Work,
  a: StoredActivation,
  lost: Exclude<LostBacking, null>,
): Promise<boolean> {
  const closed = close(a, "canceled", CANCEL_REASON[lost], "system", work.now);
  if (!closed.ok) return false;
  const holder = (await principalsNow(work.tx, [a.principalId])).get(a.principalId);
  const role = (await rolesByIds(work.tx, [a.roleId])).get(a.roleId);
  await recordTransition(
    work,
    a,
    closed.value,
    { actor: "system", subject: { key: holder?.key ?? a.principalId }, role: { key: role?.key ?? a.roleId } },
    { data: { cause: lost } },
  );
  return true;
}

const CANCEL_REASON: Record<Exclude<LostBacking, null>, string> = {
  PRINCIPAL_RETIRED: "The requester was removed from the policy",
  NOT_ELIGIBLE: "The requester is no longer eligible for this role",
  NO_LONGER_BREAK_GLASS: "The requester is no longer a break-glass account",
};

/**
 * Cancels every waiting role of a request whose requester is no longer entitled to one of them,
 * and says why; undefined while the requester still is.
 */
export async function lostBackingOf(
  work: Work,
  requester: Principal,
  waiting: StoredActivation[],
  whose: "your" | "their" = "their",
): Promise<Refusal | undefined> {
  for (const row of waiting) {
    const lost = await lostBacking(work.tx, requester, row, work.now);
    if (!lost) continue;
    for (const other of waiting) await cancelPending(work, other, lost);
    return lostBackingRefusal(lost, whose);
  }
  return undefined;
}
