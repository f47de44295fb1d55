import type { TurnContext } from "botbuilder";
import { notifyRoleIds } from "../../app/activation/request-cards.js";
import { getRequestView } from "../../app/activation/views.js";
import { assignmentRequestNotice } from "../../app/admin/assignment-views.js";
import { REQUEST_CARD_KIND } from "../../app/notices/assignments.js";
import { teamsCardAt } from "../../app/notices/chat-messages.js";
import { campaignSummary, reviewPages } from "../../app/reviews/views.js";
import { listCard } from "../flows/commands.js";
import { activationNoticeCard } from "../views/activation-notice.js";
import { approvalCard } from "../views/approval-card.js";
import { assignmentRequestCard } from "../views/assignment-request.js";
import type { Card } from "../views/card.js";
import { requestCard } from "../views/request-card.js";
import { reviewPromptCard, reviewSummaryCard } from "../views/review-card.js";
import type { CardView } from "./cards.js";
import type { Principal, TeamsContext } from "./context.js";
import { baseConversationId } from "./conversations.js";

export interface SourceCard {
  card: Card;
  view: CardView;
  /** Teams user ids whose client redraws the card when they look at it; null: no refresh clause. */
  refreshFor: string[] | null;
}

export const VIEWS: CardView[] = [
  "tracked",
  "status",
  "pending",
  "roles",
  "help",
  "active",
  "assignments",
  "form",
  "extend",
  "note",
];

/**
 * The card a click or a refresh came from, drawn as it is now for the person looking at it. A
 * tracked card is found from the message itself (`replyToId` names it in chat_messages), never
 * from what the card sent back; the other views are redrawn from the database for the clicker.
 */
export async function redrawSource(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  view: CardView,
): Promise<SourceCard | null> {
  const now = ctx.deps.clock.now();
  switch (view) {
    case "tracked":
      return redrawTracked(ctx, turn, me, now);
    case "status":
    case "pending":
    case "roles":
    case "help":
    case "active":
    case "assignments":
      return { card: await listCard(ctx.flows, me, view), view, refreshFor: null };
    default:
      return null;
  }
}

async function redrawTracked(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  now: Date,
): Promise<SourceCard | null> {
  const { activity } = turn;
  const conversationId = baseConversationId(activity.conversation?.id ?? "");
  const row = activity.replyToId ? await teamsCardAt(ctx.deps.db, conversationId, activity.replyToId) : null;
  if (!row) return null;
  const personal = activity.conversation?.conversationType !== "channel" && !activity.conversation?.isGroup;
  const refreshFor = personal && activity.from?.id ? [activity.from.id] : [];
  if (row.kind === "review") {
    const [campaignId, reviewerId] = row.subjectId.split(":");
    const page = (await reviewPages(ctx.deps.db, campaignId!, { reviewers: [reviewerId!] })).find(
      (p) => p.key === row.subjectId,
    );
    return page
      ? { card: reviewPromptCard(page, now), view: "tracked", refreshFor: activity.from?.id ? [activity.from.id] : [] }
      : null;
  }
  if (row.kind === REQUEST_CARD_KIND) {
    const notice = await assignmentRequestNotice(ctx.deps.db, row.subjectId, false);
    return notice ? { card: assignmentRequestCard(notice), view: "tracked", refreshFor: [] } : null;
  }
  if (row.kind === "review_summary") {
    const summary = await campaignSummary(ctx.deps.db, row.subjectId);
    return summary ? { card: reviewSummaryCard(summary), view: "tracked", refreshFor: [] } : null;
  }
  const view = await getRequestView(ctx.deps.db, row.subjectId, now);
  if (!view) return null;
  const draw = (card: Card): SourceCard => ({ card, view: "tracked", refreshFor });
  switch (row.kind) {
    case "requester":
      // Its step-up link lives with the notifier, which redraws this card itself; keep what is shown.
      return view.status === "pending_mfa" ? null : draw(requestCard(view, { now }));
    case "approver":
      return draw(approvalCard(view, { now, viewerId: row.principalId ?? me.id }));
    case "channel":
      // Everyone sees the shared card; the one looking at it sees whether they already decided.
      return draw(approvalCard(view, { now, viewerId: me.id }));
    case "notice":
      return draw(activationNoticeCard(view, now, await notifyRoleIds(ctx.deps.db, view)));
    default:
      return null;
  }
}
