import type { Executor } from "../../db/client.js";
import type { StoredActivation } from "../../db/repos/activations.js";
import { heldAssignments, type Principal } from "../../db/repos/directory.js";
import { evaluateEligibility } from "../../domain/eligibility.js";
import { type Refusal, refuse } from "../../domain/refusal.js";

/** Why an activation has lost what backed it; null while it is still backed. */
export type LostBacking = "PRINCIPAL_RETIRED" | "NOT_ELIGIBLE" | "NO_LONGER_BREAK_GLASS" | null;

/**
 * Whether an activation is still backed: its holder is an active user and still eligible for the
 * role at its scope (directly or through a group), or still a break-glass account when that is
 * what it rested on. `fresh` reads membership as this transaction sees it, for apply.
 */
export async function lostBacking(
  tx: Executor,
  holder: Principal | undefined,
  a: Pick<StoredActivation, "roleId" | "scope" | "basis">,
  now: Date,
  fresh = false,
): Promise<LostBacking> {
  if (!holder || holder.retiredAt || holder.kind !== "user") return "PRINCIPAL_RETIRED";
  if (a.basis === "break_glass") return holder.breakGlass ? null : "NO_LONGER_BREAK_GLASS";
  const held = await heldAssignments(tx, holder.id, [a.roleId], fresh);
  const verdict = evaluateEligibility(held, a.roleId, a.scope, now);
  // An active assignment now covering it backs it as well as an eligibility does.
  return verdict.kind === "eligible" || verdict.kind === "already_active" ? null : "NOT_ELIGIBLE";
}

/** What the person is told when a step of their request finds them no longer entitled. */
export function lostBackingRefusal(lost: Exclude<LostBacking, null>, whose: "your" | "their"): Refusal {
  switch (lost) {
    case "PRINCIPAL_RETIRED":
      return refuse(
        "REQUESTER_REMOVED",
        whose === "your"
          ? "You are no longer in PIM's policy."
          : "The requester is no longer in PIM's policy; the request is canceled.",
      );
    case "NOT_ELIGIBLE":
    case "NO_LONGER_BREAK_GLASS":
      return refuse(
        "REQUESTER_NOT_ELIGIBLE",
        whose === "your"
          ? "You are no longer eligible for this role; the request is canceled."
          : "The requester is no longer eligible for this role; the request is canceled.",
      );
    default: {
      const never: never = lost;
      return never;
    }
  }
}
