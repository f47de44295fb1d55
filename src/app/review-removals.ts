/** Carrying out a review's removals: assignments deleted, holdings revoked, activations ended. */
import { and, eq, inArray, sql } from "drizzle-orm";
import { getActivation } from "../db/repos/activations.js";
import { groupsOf, heldAssignments, resultRows } from "../db/repos/directory.js";
import { holdingKey } from "../db/repos/outbox.js";
import { activations } from "../db/schema/activations.js";
import type { reviewCampaigns } from "../db/schema/reviews.js";
import { evaluateEligibility } from "../domain/eligibility.js";
import { scopeCovers } from "../domain/scope.js";
import { recordReviewRemovals } from "./admin/declared-removals.js";
import { auditMany } from "./audit-batch.js";
import { chunks } from "./chunks.js";
import type { Work } from "./context.js";
import { endOne } from "./end-activation.js";
import { newId } from "./ids.js";

type CampaignRow = typeof reviewCampaigns.$inferSelect;

export interface RemovedAssignment {
  id: string;
  itemId: string;
  principalId: string;
  principalKey: string;
  roleId: string;
  roleKey: string;
  scope: string;
  kind: "eligible" | "active";
  startsAt: Date | null;
  source: string;
  outcomeBy: string;
}

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
  const rows = resultRows<{
    id: string;
    item_id: string;
    principal_id: string;
    principal_key: string;
    role_id: string;
    role_key: string;
    scope: string;
    kind: "eligible" | "active";
    starts_at: unknown;
    source: string;
    outcome_by: string;
  }>(
    await work.tx.execute(sql`
      with removed as (
        delete from assignments a using review_items i
        where i.campaign_id = ${campaign.id} and i.outcome = 'remove' and a.id = i.assignment_id
        returning a.id, i.id as item_id, a.principal_id, a.role_id, a.scope, a.kind, a.starts_at, a.source, i.outcome_by
      )
      select removed.*, p.key as principal_key, r.key as role_key
      from removed join principals p on p.id = removed.principal_id join roles r on r.id = removed.role_id`),
  );
  const removed: RemovedAssignment[] = rows.map((r) => ({
    id: r.id,
    itemId: r.item_id,
    principalId: r.principal_id,
    principalKey: r.principal_key,
    roleId: r.role_id,
    roleKey: r.role_key,
    scope: r.scope,
    kind: r.kind,
    startsAt: r.starts_at === null ? null : new Date(r.starts_at as string | Date),
    source: r.source,
    outcomeBy: r.outcome_by,
  }));
  if (removed.length === 0) return removed;
  await recordReviewRemovals(work, removed, { title: campaign.settings.title, campaignId: campaign.id });

  await work.tx.execute(sql`
    update outbox_jobs set status = 'canceled'
    where status = 'pending' and activation_id is null and payload->>'assignmentId' in (
      select assignment_id from review_items where campaign_id = ${campaign.id} and outcome = 'remove')`);

  const revokes = removed
    .filter((a) => a.kind === "active" && (a.startsAt === null || a.startsAt <= work.now))
    .map((a) => {
      const payload = {
        principalId: a.principalId,
        roleId: a.roleId,
        scope: a.scope,
        until: null,
        assignmentId: a.id,
        reviewId: campaign.id,
      };
      return {
        id: newId("job"),
        kind: "revoke",
        key: holdingKey(payload),
        activationId: null,
        payload,
        runAt: work.now,
      };
    });
  for (const batch of chunks(revokes, 10_000))
    await work.tx.execute(sql`
      insert into outbox_jobs (id, kind, key, activation_id, payload, run_at)
      select id, kind, key, null, payload, ${work.now.toISOString()}::timestamptz
      from json_to_recordset(${JSON.stringify(batch)}::json) as x(id text, kind text, key text, payload jsonb)`);
  if (revokes[0]) work.emit({ type: "holding.job", jobId: revokes[0].id, runAt: work.now });

  await auditMany(
    work,
    removed.map((a) => ({
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
    })),
  );
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
  for (const batch of chunks(roleIds))
    live.push(
      ...(await work.tx
        .select({
          id: activations.id,
          principalId: activations.principalId,
          roleId: activations.roleId,
          scope: activations.scope,
        })
        .from(activations)
        .where(and(eq(activations.status, "active"), inArray(activations.roleId, batch)))),
    );
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
