/**
 * Running an access review to its end: reminders before it, then closing, where each item's
 * outcome is its decision or the campaign's rule for silence, and applying, where assignments are
 * removed and audited one by one and active holdings revoked on their targets through the outbox.
 * Starting is in start-review.ts, decisions in review-decisions.ts.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Tx } from "../db/client.js";
import { principalById, resultRows } from "../db/repos/directory.js";
import { reviewCampaigns, reviewItems } from "../db/schema/reviews.js";
import { type Refusal, refuse } from "../domain/refusal.js";
import { err, ok, type Result } from "../domain/result.js";
import { dueReminders } from "../domain/review-rules.js";
import { type EngineDeps, inTransaction, type Work } from "./context.js";
import { endReviewedActivations, removeReviewedAssignments } from "./review-removals.js";

type CampaignRow = typeof reviewCampaigns.$inferSelect;

// ── reminders ──────────────────────────────────────────────────────────────────────────────

/**
 * Claims the reminders now due for each open campaign (a compare-and-set on the campaign, so one
 * replica sends each) and returns the campaigns whose reviewers are to be reminded.
 */
export async function claimDueReminders(deps: EngineDeps): Promise<CampaignRow[]> {
  const now = deps.clock.now();
  const open = await deps.db.select().from(reviewCampaigns).where(eq(reviewCampaigns.status, "open"));
  const claimed: CampaignRow[] = [];
  for (const c of open) {
    const due = dueReminders(c.endsAt, c.settings.remindersMs, c.remindersSent, now);
    if (due.length === 0) continue;
    const [row] = await deps.db
      .update(reviewCampaigns)
      .set({ remindersSent: [...c.remindersSent, ...due] })
      .where(
        and(
          eq(reviewCampaigns.id, c.id),
          eq(reviewCampaigns.status, "open"),
          sql`${reviewCampaigns.remindersSent} = ${JSON.stringify(c.remindersSent)}::jsonb`,
        ),
      )
      .returning();
    if (row) claimed.push(row);
  }
  return claimed;
}

// ── closing and applying ───────────────────────────────────────────────────────────────────

/** Campaigns whose end has come, still open. */
export async function campaignsDue(deps: EngineDeps): Promise<string[]> {
  const rows = await deps.db
    .select({ id: reviewCampaigns.id })
    .from(reviewCampaigns)
    .where(
      and(
        eq(reviewCampaigns.status, "open"),
        sql`${reviewCampaigns.endsAt} <= ${deps.clock.now().toISOString()}::timestamptz`,
      ),
    );
  return rows.map((r) => r.id);
}

/**
 * Closes a campaign: each item's outcome is its decision or, unanswered, what the campaign says
 * (the same rule as the domain's outcomeOf, in one statement). With autoApply the removals are
 * carried out in the same transaction. Closing twice is a no-op (false).
 */
export async function closeReview(deps: EngineDeps, campaignId: string): Promise<boolean> {
  return inTransaction(deps, async (work) => {
    const [campaign] = await work.tx
      .select()
      .from(reviewCampaigns)
      .where(eq(reviewCampaigns.id, campaignId))
      .for("update");
    if (campaign?.status !== "open") return false;
    const policy = campaign.settings.unanswered;
    // With autoApply the items are marked applied in the same pass: one write per item, not two.
    const applied = campaign.settings.autoApply ? work.now.toISOString() : null;
    await work.tx.execute(sql`
      update review_items i
      set outcome = coalesce(x.decision, case ${policy} when 'recommendation' then i.recommendation else ${policy} end),
          outcome_by = case when x.decision is null then 'unanswered' else 'decision' end,
          applied_at = ${applied}::timestamptz
      from (select i2.id, d.decision from review_items i2 left join review_decisions d on d.item_id = i2.id
            where i2.campaign_id = ${campaignId}) x
      where i.id = x.id`);
    const [closed] = await work.tx
      .update(reviewCampaigns)
      .set({ status: "closed", closedAt: work.now })
      .where(eq(reviewCampaigns.id, campaignId))
      .returning();
    const summary = await outcomeCounts(work.tx, campaignId);
    await work.tx.update(reviewCampaigns).set({ summary }).where(eq(reviewCampaigns.id, campaignId));
    work.audit({
      event: "review.closed",
      actor: "system",
      data: { campaignId, title: campaign.settings.title, ...summary },
    });
    work.emit({ type: "review.changed", campaignId, change: "closed", itemIds: [] });
    if (campaign.settings.autoApply) await applyOutcomes(work, closed!, "system");
    return true;
  });
}

/** Carries out a closed campaign that was not applied automatically (an administrator, from chat). */
export async function applyReview(
  deps: EngineDeps,
  campaignId: string,
  adminId: string,
): Promise<Result<{ removed: number }, Refusal>> {
  return inTransaction(deps, async (work) => {
    const admin = await principalById(work.tx, adminId);
    if (!admin?.admin) {
      work.audit({
        event: "review.refused",
        actor: admin?.key ?? adminId,
        data: { code: "NOT_ALLOWED", action: "apply", campaignId },
      });
      return err(refuse("NOT_ALLOWED", "Only PIM administrators can apply a review's results."));
    }
    const [campaign] = await work.tx
      .select()
      .from(reviewCampaigns)
      .where(eq(reviewCampaigns.id, campaignId))
      .for("update");
    if (!campaign) return err(refuse("NOT_FOUND", "This review does not exist."));
    if (campaign.status !== "closed")
      return err(refuse("WRONG_STATE", "The review is still running; it can be applied once it ends."));
    if (campaign.appliedAt)
      return err(refuse("ALREADY_DECIDED", `Already applied at ${campaign.appliedAt.toISOString()}.`));
    return ok({ removed: await applyOutcomes(work, campaign, admin.key) });
  });
}

async function applyOutcomes(work: Work, campaign: CampaignRow, by: string): Promise<number> {
  const removed = await removeReviewedAssignments(work, campaign, by);
  await endReviewedActivations(work, campaign, removed);
  await work.tx
    .update(reviewItems)
    .set({ appliedAt: work.now })
    .where(and(eq(reviewItems.campaignId, campaign.id), isNull(reviewItems.appliedAt)));
  await work.tx
    .update(reviewCampaigns)
    .set({ appliedAt: work.now, appliedBy: by })
    .where(eq(reviewCampaigns.id, campaign.id));
  work.audit({ event: "review.applied", actor: by, data: { campaignId: campaign.id, removed: removed.length } });
  work.emit({ type: "review.changed", campaignId: campaign.id, change: "applied", itemIds: [] });
  return removed.length;
}

async function outcomeCounts(tx: Tx, campaignId: string): Promise<Record<string, number>> {
  const rows = resultRows<{ outcome: string; outcome_by: string; n: number | string }>(
    await tx.execute(sql`
      select outcome, outcome_by, count(*) as n from review_items where campaign_id = ${campaignId}
      group by outcome, outcome_by`),
  );
  const out: Record<string, number> = { items: 0 };
  for (const r of rows) {
    out.items! += Number(r.n);
    out[`${r.outcome}_${r.outcome_by}`] = Number(r.n);
  }
  return out;
}
