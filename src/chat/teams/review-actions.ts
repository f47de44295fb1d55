/**
 * Access reviews on Teams: Keep and Remove on review cards (Remove posts a small form for an
 * optional reason, as Slack opens a modal), Apply on a summary, and `elevate review <name>` for
 * administrators. The clicker is the activity's verified sender; the card's data names the item.
 */
import type { TurnContext } from "botbuilder";
import { recordDecision } from "../../app/review-decisions.js";
import { campaignSummary, reviewPages } from "../../app/review-queries.js";
import { applyReview } from "../../app/run-review.js";
import { declaredReviews, startReviewFromChat } from "../../app/start-review.js";
import { teamsCardAt } from "../../db/repos/teams-conversations.js";
import type { ReviewDecision } from "../../domain/review-rules.js";
import { ACTIONS, FIELDS, FORMS } from "../views/action-ids.js";
import type { Rich } from "../views/card.js";
import { reviewPromptCard, reviewSummaryCard } from "../views/review-card.js";
import { adaptiveCard, type Json, renderCard, richBlocks, textBlock } from "./cards.js";
import type { Principal, TeamsContext } from "./context.js";
import { baseConversationId } from "./conversations.js";
import { noteCard, replyJson, replyNote } from "./reply.js";

type Notice = { text: Rich; tone: "good" | "attention" | "warning" | "default" };
type Outcome = { card: Json; persist: boolean } | { notice: Notice | null };
type Handler = (ctx: TeamsContext, turn: TurnContext, me: Principal, value: string, data: Json) => Promise<Outcome>;

const attention = (text: string): Notice => ({ text: [text], tone: "attention" });

/** The card the click came from, redrawn as it is now (with a notice on it), for the invoke's answer. */
async function clickedCard(ctx: TeamsContext, turn: TurnContext, notice: Notice | null): Promise<Json | null> {
  const { activity } = turn;
  if (!activity.replyToId) return null;
  const row = await teamsCardAt(ctx.deps.db, baseConversationId(activity.conversation?.id ?? ""), activity.replyToId);
  if (!row) return null;
  const refreshFor = activity.from?.id ? [activity.from.id] : [];
  if (row.kind === "review") {
    const [campaignId, reviewerId] = row.subjectId.split(":");
    const page = (await reviewPages(ctx.deps.db, campaignId!, { reviewers: [reviewerId!] })).find(
      (p) => p.key === row.subjectId,
    );
    if (!page) return null;
    return renderCard(reviewPromptCard(page, ctx.deps.clock.now()), { view: "tracked", refreshFor, notice });
  }
  if (row.kind === "review_summary") {
    const summary = await campaignSummary(ctx.deps.db, row.subjectId);
    return summary ? renderCard(reviewSummaryCard(summary), { view: "tracked", refreshFor: [], notice }) : null;
  }
  return null;
}

async function decideAndRedraw(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  itemId: string,
  decision: ReviewDecision,
  reason: string | null,
): Promise<Outcome> {
  const decided = await recordDecision(ctx.deps, me.id, { itemId, decision, reason });
  const notice = decided.ok ? null : attention(decided.error.message);
  const card = await clickedCard(ctx, turn, notice);
  return card ? { card, persist: false } : { notice };
}

/** The form a Remove click posts: an optional reason and the button that records the removal. */
function removeFormCard(itemId: string): Json {
  return adaptiveCard(
    [
      ...richBlocks([{ strong: "Remove this access?" }]),
      textBlock("It is removed when the review ends (and revoked if it is held now)."),
      { type: "Input.Text", id: FIELDS.reason, label: "Why? (optional)", isMultiline: true, maxLength: 1_000 },
      {
        type: "ActionSet",
        actions: [
          {
            type: "Action.Execute",
            title: "Remove",
            verb: FORMS.reviewRemove,
            data: { value: itemId, view: "form" },
            style: "destructive",
          },
        ],
      },
    ],
    { fallbackText: "Remove this access?" },
  );
}

/** Handlers by verb, merged into the Teams card actions (src/chat/teams/actions.ts). */
export const REVIEW_HANDLERS: Record<string, Handler> = {
  [ACTIONS.reviewKeep]: (ctx, turn, me, itemId) => decideAndRedraw(ctx, turn, me, itemId, "keep", null),

  [ACTIONS.reviewRemove]: async (ctx, turn, _me, itemId) => {
    await replyJson(turn, removeFormCard(itemId), "Remove this access?");
    const card = await clickedCard(ctx, turn, {
      text: ["Give a reason (optional) in the form below."],
      tone: "default",
    });
    return card ? { card, persist: false } : { notice: null };
  },

  [FORMS.reviewRemove]: async (ctx, _turn, me, itemId, data) => {
    const raw = data[FIELDS.reason];
    const reason = typeof raw === "string" ? raw : null;
    const decided = await recordDecision(ctx.deps, me.id, { itemId, decision: "remove", reason });
    const text = decided.ok ? "Removal recorded; it takes effect when the review ends." : decided.error.message;
    return { card: noteCard(text), persist: true };
  },

  [ACTIONS.reviewApply]: async (ctx, turn, me, campaignId) => {
    const applied = await applyReview(ctx.deps, campaignId, me.id);
    const notice: Notice = applied.ok
      ? { text: [`Done: ${applied.value.removed} assignments removed and audited.`], tone: "good" }
      : attention(applied.error.message);
    const card = await clickedCard(ctx, turn, notice);
    return card ? { card, persist: false } : { notice };
  },
};

/** `elevate review <review name | role>`: an administrator starts an access review now. */
export async function reviewSubcommand(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  args: string,
): Promise<void> {
  const started = await startReviewFromChat(ctx.deps, me.id, args, await declaredReviews(ctx.deps.db));
  await replyNote(
    turn,
    started.ok
      ? `${started.value.campaign.settings.title} started: ${started.value.items} assignments to review; the reviewers are being asked now.`
      : started.error.message,
  );
}
