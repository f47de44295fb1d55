import { type Refusal, refuse } from "./refusal.js";
import { err, ok, type Result } from "./result.js";

export interface Decision {
  approverId: string;
  decision: "approve" | "deny";
  decidedAt: Date;
}

/**
 * The approver set at the moment of a click: policy approvers (groups expanded) minus the requester.
 * When a policy names nobody that can decide, administrators decide (as Entra does with
 * Privileged Role and Global Administrators).
 */
export function effectiveApprovers(named: Set<string>, admins: Set<string>, requesterId: string): Set<string> {
  const others = new Set([...named].filter((id) => id !== requesterId));
  if (others.size > 0) return others;
  return new Set([...admins].filter((id) => id !== requesterId));
}

export function checkFeasible(needed: number, approvers: Set<string>, roleName: string): Result<void, Refusal> {
  if (approvers.size === 0)
    return err(
      refuse("NO_APPROVERS", `Nobody can approve ${roleName} for you; ask an administrator to name approvers.`),
    );
  if (approvers.size < needed) {
    return err(
      refuse(
        "NOT_ENOUGH_APPROVERS",
        `${roleName} needs ${needed} approvals but only ${approvers.size} people other than you can approve it.`,
      ),
    );
  }
  return ok(undefined);
}

/** Whether this person may decide now; the set is computed at click time, never trusted from the card. */
export function checkApprover(
  approverId: string,
  requesterId: string,
  approvers: Set<string>,
  earlier: Decision[],
): Result<void, Refusal> {
  if (approverId === requesterId) return err(refuse("SELF_APPROVAL", "You cannot approve or deny your own request."));
  if (!approvers.has(approverId)) return err(refuse("NOT_AN_APPROVER", "You are not an approver for this request."));
  if (earlier.some((d) => d.approverId === approverId))
    return err(refuse("ALREADY_VOTED", "You have already decided on this request."));
  return ok(undefined);
}

/** The longest comment an approver may attach; longer ones are refused where they were typed. */
export const MAX_COMMENT_LENGTH = 1000;

export function checkComment(comment: string | null): Result<void, Refusal> {
  if (comment && comment.length > MAX_COMMENT_LENGTH)
    return err(refuse("COMMENT_TOO_LONG", `A comment must be at most ${MAX_COMMENT_LENGTH} characters.`));
  return ok(undefined);
}

/**
 * Approvals that count toward N: only those of people who are still approvers now. Someone
 * removed from the approver set since they approved no longer carries the request forward.
 */
export function countCurrentApprovals(earlier: Decision[], approvers: Set<string>): number {
  return earlier.filter((d) => d.decision === "approve" && approvers.has(d.approverId)).length;
}
