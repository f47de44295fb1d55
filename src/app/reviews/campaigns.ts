/**
 * Running an access review to its end: reminders before it, then closing, where each item's
 * outcome is its decision or the campaign's rule for silence, and applying, where assignments are
 * removed and audited one by one and active holdings revoked on their targets through the outbox.
 * Starting is in start-review.ts, decisions in review-decisions.ts.
 */
import { principalById } from "../../db/repos/directory.js";
import {
  type CampaignRow,
  countOutcomes,
  lockCampaign,
  markCampaignApplied,
  markCampaignClosed,
  markItemsApplied,
  openCampaignIdsEndedBy,
  openCampaigns,
  recordRemindersSent,
  setCampaignSummary,
  settleItemOutcomes,
} from "../../db/repos/reviews.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { dueReminders } from "../../domain/review-rules.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { endReviewedActivations, removeReviewedAssignments } from "./removals.js";

// ── reminders ──────────────────────────────────────────────────────────────────────────────

/**
 * Claims the reminders now due for each open campaign (a compare-and-set on the campaign, so one
 * replica sends each) and returns the campaigns whose reviewers are to be reminded.
 */
export async function claimDueReminders(deps: EngineDeps): Promise<CampaignRow[]> {
  const now = deps.clock.now();
  const open = await openCampaigns(deps.db);
  const claimed: CampaignRow[] = [];
  for (const c of open) {
    const due = dueReminders(c.endsAt, c.settings.remindersMs, c.remindersSent, now);
    if (due.length === 0) continue;
    const row = await recordRemindersSent(deps.db, c.id, c.remindersSent, [...c.remindersSent, ...due]);
    if (row) claimed.push(row);
  }
  return claimed;
}

// ── closing and applying ───────────────────────────────────────────────────────────────────

/** Campaigns whose end has come, still open. */
export async function campaignsDue(deps: EngineDeps): Promise<string[]> {
  return openCampaignIdsEndedBy(deps.db, deps.clock.now());
}

/**
 * Closes a campaign: each item's outcome is its decision or, unanswered, what the campaign says
 * (the same rule as the domain's outcomeOf, in one statement). With autoApply the removals are
 * carried out in the same transaction. Closing twice is a no-op (false).
 */
export async function closeReview(deps: EngineDeps, campaignId: string): Promise<boolean> {
  return inTransaction(deps, async (work) => {
    const campaign = await lockCampaign(work.tx, campaignId);
    if (campaign?.status !== "open") return false;
    // With autoApply the items are marked applied in the same pass: one write per item, not two.
    await settleItemOutcomes(
      work.tx,
      campaignId,
      campaign.settings.unanswered,
      campaign.settings.autoApply ? work.now : null,
    );
    const closed = await markCampaignClosed(work.tx, campaignId, work.now);
    const summary = await countOutcomes(work.tx, campaignId);
    await setCampaignSummary(work.tx, campaignId, summary);
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
    const campaign = await lockCampaign(work.tx, campaignId);
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
  await markItemsApplied(work.tx, campaign.id, work.now);
  await markCampaignApplied(work.tx, campaign.id, work.now, by);
  work.audit({ event: "review.applied", actor: by, data: { campaignId: campaign.id, removed: removed.length } });
  work.emit({ type: "review.changed", campaignId: campaign.id, change: "applied", itemIds: [] });
  return removed.length;
}
