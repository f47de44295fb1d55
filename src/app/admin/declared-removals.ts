/**
 * Assignments that pim.yaml declares but an access review or an administrator removed stay
 * removed: the removal is recorded (by keys, so it outlives the rows), `apply` skips the
 * declaration and lists it, and an administrator can lift the record to let the file restore it.
 */
import type { PimAssignment } from "../../config/pim-file.js";
import type { Executor } from "../../db/client.js";
import { type AssignmentRemovalRow, deleteRemoval, listRemovals, recordRemovals } from "../../db/repos/assignments.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { type Actor, authorizeAdministrator, refuseAdministration } from "./administrators.js";

export interface DeclaredRemoval {
  principal: string;
  role: string;
  scope: string;
  kind: "eligible" | "active";
  removedBy: "review" | "admin";
  /** The review's title, or the administrator's key. */
  by: string;
  campaignId: string | null;
  reason: string | null;
  removedAt: Date;
}

const identity = (a: { principal: string; role: string; scope: string; kind: string }) =>
  `${a.principal}|${a.role}|${a.scope}|${a.kind}`;

function toView(r: AssignmentRemovalRow): DeclaredRemoval {
  return {
    principal: r.principalKey,
    role: r.roleKey,
    scope: r.scope,
    kind: r.kind,
    removedBy: r.removedBy,
    by: r.byName,
    campaignId: r.campaignId,
    reason: r.reason,
    removedAt: r.removedAt,
  };
}

/** "declared in the file, removed by review Quarterly DBA review on 2026-11-30" */
export function describeRemoval(r: DeclaredRemoval): string {
  const by = r.removedBy === "review" ? `review ${r.by}` : `administrator ${r.by}`;
  return `${r.principal} ${r.kind} for ${r.role} at ${r.scope}: declared in the file, removed by ${by} on ${r.removedAt.toISOString().slice(0, 10)}`;
}

/**
 * Splits the file's assignments into those to reconcile and those that stay removed. `apply`
 * calls it inside its transaction.
 */
export async function honourRemovals(
  tx: Executor,
  declared: PimAssignment[],
): Promise<{ assignments: PimAssignment[]; staysRemoved: DeclaredRemoval[] }> {
  const removals = new Map(
    (await listRemovals(tx)).map((r) => [
      identity({ principal: r.principalKey, role: r.roleKey, scope: r.scope, kind: r.kind }),
      r,
    ]),
  );
  if (removals.size === 0) return { assignments: declared, staysRemoved: [] };
  const assignments: PimAssignment[] = [];
  const staysRemoved: DeclaredRemoval[] = [];
  for (const a of declared) {
    const removal = removals.get(identity(a));
    if (removal) staysRemoved.push(toView(removal));
    else assignments.push(a);
  }
  return { assignments, staysRemoved };
}

/** Records what an access review removed of the file's assignments, so `apply` does not put it back. */
export async function recordReviewRemovals(
  work: Work,
  removed: { principalKey: string; roleKey: string; scope: string; kind: "eligible" | "active"; source: string }[],
  review: { title: string; campaignId: string },
): Promise<void> {
  await recordRemovals(
    work.tx,
    removed
      .filter((a) => a.source === "file")
      .map((a) => ({
        principalKey: a.principalKey,
        roleKey: a.roleKey,
        scope: a.scope,
        kind: a.kind,
        removedBy: "review" as const,
        byName: review.title,
        campaignId: review.campaignId,
        reason: "access review",
        removedAt: work.now,
      })),
  );
}

export async function listDeclaredRemovals(db: Executor): Promise<DeclaredRemoval[]> {
  return (await listRemovals(db)).map(toView);
}

/**
 * Lifts the record of a removal: the next `apply` (or start) restores the assignment if the
 * file still declares it.
 */
export async function allowRestore(
  deps: EngineDeps,
  actor: Actor,
  target: { principal: string; role: string; scope: string; kind: "eligible" | "active" },
): Promise<Result<DeclaredRemoval, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await authorizeAdministrator(work, actor, "assignment.restore", target);
    if (!admin.ok) return admin;
    const gone = await deleteRemoval(work.tx, {
      principalKey: target.principal,
      roleKey: target.role,
      scope: target.scope,
      kind: target.kind,
    });
    if (!gone) {
      const refusal = refuse(
        "NOT_FOUND",
        `No removal is recorded for ${target.principal} ${target.kind} for ${target.role} at ${target.scope}.`,
      );
      refuseAdministration(work, admin.value.key, "assignment.restore", refusal, target);
      return err(refusal);
    }
    const removal = toView(gone);
    work.audit({
      event: "assignment.restore_allowed",
      actor: admin.value.key,
      subject: target.principal,
      role: target.role,
      scope: target.scope,
      data: { kind: target.kind, removedBy: removal.removedBy, by: removal.by, removedAt: removal.removedAt },
    });
    return ok(removal);
  });
}
