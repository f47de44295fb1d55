/**
 * Reviewers' decisions: Keep or Remove with an optional reason, one from a button or many at once.
 * The reviewer comes from the platform's verified identity, the item from the button; the domain
 * decides whether this reviewer may decide this item. A decision may change until the campaign closes.
 */
import { groupsOf, principalById } from "../../db/repos/directory.js";
import { type DecisionItem, itemsWithKeys, lockCampaignsForShare, saveDecisions } from "../../db/repos/reviews.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { checkReviewer, type ReviewDecision } from "../../domain/review-rules.js";
import { chunks } from "../kernel/chunks.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";

/** Rows per statement where rows travel as one JSON parameter. */
const INSERT_CHUNK = 10_000;

export interface DecisionInput {
  itemId: string;
  decision: ReviewDecision;
  reason?: string | null;
}

const REASON_MAX = 1_000;
/**
 * Decisions made one by one (a button, a batched card) are audited one event each. A bulk call
 * (an import, the API) is audited as one `review.decided_batch` event per thousand decisions,
 * each listing every decision with its holder, role, scope and reason: the same facts, chained,
 * at a fraction of the cost.
 */
const ONE_EVENT_PER_DECISION_UP_TO = 100;
const DECISIONS_PER_BATCH_EVENT = 1_000;

/**
 * One reviewer's decision on one item (a button in chat). The reviewer comes from the platform's
 * verified identity; the item id from the button. A decision may be changed until the campaign
 * closes; every decision and every refusal is audited.
 */
export async function recordDecision(
  deps: EngineDeps,
  reviewerId: string,
  input: DecisionInput,
): Promise<Result<{ itemId: string; campaignId: string }, Refusal>> {
  const outcome = await recordDecisions(deps, reviewerId, [input]);
  if (!outcome.ok) return outcome;
  const refused = outcome.value.refused[0];
  if (refused) return err(refused.refusal);
  return ok({ itemId: input.itemId, campaignId: outcome.value.campaignIds[0]! });
}

export interface DecisionsOutcome {
  recorded: number;
  refused: { itemId: string; refusal: Refusal }[];
  campaignIds: string[];
}

/** Many decisions by one reviewer at once (a batched card's "Keep all", imports, the benchmark). */
export async function recordDecisions(
  deps: EngineDeps,
  reviewerId: string,
  inputs: DecisionInput[],
): Promise<Result<DecisionsOutcome, Refusal>> {
  return inTransaction(deps, async (work) => {
    const reviewer = await principalById(work.tx, reviewerId);
    if (reviewer?.kind !== "user") return err(refuse("UNKNOWN_PRINCIPAL", "You are not known to PIM."));
    const groupIds = await groupsOf(work.tx, reviewer.id);
    const items = await itemsWithKeys(
      work.tx,
      inputs.map((i) => i.itemId),
    );
    const campaigns = await lockCampaignsForShare(work.tx, [...new Set([...items.values()].map((i) => i.campaignId))]);
    const refused: DecisionsOutcome["refused"] = [];
    const accepted: { input: DecisionInput; item: DecisionItem }[] = [];
    for (const input of inputs) {
      const item = items.get(input.itemId);
      const campaign = item && campaigns.get(item.campaignId);
      if (!item || !campaign) {
        refused.push({ itemId: input.itemId, refusal: refuse("NOT_FOUND", "This review item does not exist.") });
        continue;
      }
      if (campaign.status !== "open" || campaign.endsAt <= work.now) {
        refused.push({
          itemId: input.itemId,
          refusal: refuse("REVIEW_CLOSED", `${campaign.settings.title} has ended; decisions can no longer change.`),
        });
        continue;
      }
      const verdict = checkReviewer(
        { id: reviewer.id, groupIds },
        { holderId: item.principalId, reviewers: item.reviewers },
        campaign.settings.reviewerMode,
      );
      if (!verdict.ok) refused.push({ itemId: input.itemId, refusal: verdict.error });
      else accepted.push({ input, item });
    }

    for (const batch of chunks(accepted, INSERT_CHUNK)) {
      const rows = batch.map(({ input, item }) => ({
        itemId: item.id,
        campaignId: item.campaignId,
        reviewerId: reviewer.id,
        decision: input.decision,
        reason: input.reason?.trim().slice(0, REASON_MAX) || null,
      }));
      await saveDecisions(work.tx, rows, work.now);
    }

    const decided = accepted.map(({ input, item }) => ({
      subject: item.principalKey,
      role: item.roleKey,
      scope: item.scope,
      decision: input.decision,
      campaignId: item.campaignId,
      itemId: item.id,
      // The same cut as in the table: the audit log keeps what was recorded, never more.
      reason: input.reason?.trim().slice(0, REASON_MAX) || null,
    }));
    if (inputs.length <= ONE_EVENT_PER_DECISION_UP_TO)
      for (const d of decided)
        work.audit({
          event: "review.decided",
          actor: reviewer.key,
          subject: d.subject,
          role: d.role,
          scope: d.scope,
          decision: d.decision,
          data: { campaignId: d.campaignId, itemId: d.itemId, reason: d.reason },
        });
    else
      for (const batch of chunks(decided, DECISIONS_PER_BATCH_EVENT))
        work.audit({ event: "review.decided_batch", actor: reviewer.key, data: { decisions: batch } });
    for (const { itemId, refusal } of refused) {
      const item = items.get(itemId);
      work.audit({
        event: "review.refused",
        actor: reviewer.key,
        subject: item?.principalKey ?? null,
        role: item?.roleKey ?? null,
        scope: item?.scope ?? null,
        data: { campaignId: item?.campaignId ?? null, itemId, code: refusal.code, message: refusal.message },
      });
    }
    const campaignIds = [...new Set(accepted.map((a) => a.item.campaignId))];
    for (const campaignId of campaignIds)
      work.emit({
        type: "review.changed",
        campaignId,
        change: "decided",
        itemIds: accepted.filter((a) => a.item.campaignId === campaignId).map((a) => a.item.id),
      });
    if (campaignIds.length === 0 && items.size > 0) campaignIds.push([...items.values()][0]!.campaignId);
    return ok({ recorded: accepted.length, refused, campaignIds });
  });
}
