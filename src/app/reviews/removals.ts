/** Carrying out a review's removals: assignments deleted, holdings revoked, activations ended. */
import { activeActivationsOfRoles, getActivation } from "../../db/repos/activations.js";
import { groupsOf, heldAssignments } from "../../db/repos/directory.js";
import {
  type CampaignRow,
  cancelJobsOfRemovedAssignments,
  deleteRemovedAssignments,
  type RemovedAssignment,
} from "../../db/repos/reviews.js";
import { evaluateEligibility } from "../../domain/eligibility.js";
import { scopeCovers } from "../../domain/scope.js";
import { endOne } from "../activation/end.js";
import { enqueueHoldings, type HoldingJob } from "../activation/holding-jobs.js";
import { recordReviewRemovals } from "../admin/declared-removals.js";
import { chunks } from "../kernel/chunks.js";
import type { Work } from "../kernel/unit-of-work.js";

/**
 * Deletes every assignment the campaign decided to remove (one statement; a campaign is applied
 * once, which its callers check), audits each removal,
 * cancels the grants and scheduled revokes still queued for them, and enqueues an immediate revoke
 * for each active one in force, so the connector takes the holding away.
 */
export async function removeReviewedAssignments(
  work: Work,
  campaign: CampaignRow,
  by: string,
): Promise<RemovedAssignment[]> {
  const removed = await deleteRemovedAssignments(work.tx, campaign.id);
  if (removed.length === 0) return removed;
  await recordReviewRemovals(work, removed, { title: campaign.settings.title, campaignId: campaign.id });

  await cancelJobsOfRemovedAssignments(work.tx, campaign.id);

  const revokes: HoldingJob[] = removed
    .filter((a) => a.kind === "active" && (a.startsAt === null || a.startsAt <= work.now))
    .map((a) => ({
      kind: "revoke",
      activationId: null,
      payload: {
        principalId: a.principalId,
        roleId: a.roleId,
        scope: a.scope,
        until: null,
        assignmentId: a.id,
        reviewId: campaign.id,
      },
    }));
  for (const batch of chunks(revokes, 10_000)) await enqueueHoldings(work, batch);

  for (const a of removed)
    work.audit({
      event: "assignment.removed",
      actor: by,
      subject: a.principalKey,
      role: a.roleKey,
      scope: a.scope,
      data: {
        kind: a.kind,
        reason: "access review",
        campaignId: campaign.id,
        review: campaign.settings.title,
        itemId: a.itemId,
        outcomeBy: a.outcomeBy,
        source: a.source,
      },
    });
  return removed;
}

/**
 * An eligibility removed by a review also ends what was activated through it, unless another
 * eligibility still covers it: otherwise the person would keep the role until the activation ends.
 */
export async function endReviewedActivations(
  work: Work,
  campaign: CampaignRow,
  removed: RemovedAssignment[],
): Promise<void> {
  const eligible = removed.filter((a) => a.kind === "eligible");
  if (eligible.length === 0) return;
  const roleIds = [...new Set(eligible.map((a) => a.roleId))];
  const live: { id: string; principalId: string; roleId: string; scope: string }[] = [];
  for (const batch of chunks(roleIds)) live.push(...(await activeActivationsOfRoles(work.tx, batch)));
  for (const a of live) {
    const holders = new Set([a.principalId, ...(await groupsOf(work.tx, a.principalId))]);
    const cause = eligible.find(
      (r) => r.roleId === a.roleId && holders.has(r.principalId) && scopeCovers(r.scope, a.scope),
    );
    if (!cause) continue;
    const held = await heldAssignments(work.tx, a.principalId, [a.roleId]);
    if (evaluateEligibility(held, a.roleId, a.scope, work.now).kind === "eligible") continue;
    const current = await getActivation(work.tx, a.id, true);
    if (current?.status === "active")
      await endOne(work, current, "revoked", "system", { reason: "access review", campaignId: campaign.id });
  }
}
