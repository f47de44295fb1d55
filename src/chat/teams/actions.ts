import type { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TurnContext } from "botbuilder";
import { runClick } from "../flows/clicks.js";
import { plainText } from "../views/card.js";
import { redrawSource, VIEWS } from "./card-source.js";
import {
  adaptiveCard,
  CARD_CONTENT_TYPE,
  type CardView,
  commentInputId,
  type Json,
  noticeBlocks,
  REFRESH_VERB,
  renderCard,
} from "./cards.js";
import type { Principal, TeamsContext } from "./context.js";
import { submitForm } from "./forms.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { teamsInteraction } from "./interaction.js";
import { noteCard } from "./reply.js";
import { cardActivity } from "./surface.js";

export const cardResponse = (card: Json): AdaptiveCardInvokeResponse => ({
  statusCode: 200,
  type: CARD_CONTENT_TYPE,
  value: card,
});

/** A short message Teams shows by the card without changing it (refreshes that have nothing to draw). */
const messageResponse = (text: string): AdaptiveCardInvokeResponse => ({
  statusCode: 200,
  type: "application/vnd.microsoft.activity.message",
  value: text as unknown as Record<string, unknown>,
});

const commentOf = (data: Json, requestId: string) => {
  const v = data[commentInputId(requestId)];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
};

/**
 * Universal Actions (`adaptiveCard/action`): every button and form submission arrives here.
 * Who clicked comes from the activity's verified sender; the card's data only names the request
 * or activation, and the flows decide. The answer is always a card: the clicked card as it is now
 * (with what happened written on it), so a late click on a stale card shows the decision instead
 * of an error; a submitted form is replaced by its receipt or by itself with its errors.
 */
export async function onCardAction(
  ctx: TeamsContext,
  turn: TurnContext,
  invoke: AdaptiveCardInvokeValue,
  me: Principal | undefined,
): Promise<AdaptiveCardInvokeResponse> {
  const verb = invoke.action?.verb ?? "";
  const data = (invoke.action?.data ?? {}) as Json;
  const value = typeof data.value === "string" ? data.value : "";
  const view: CardView = VIEWS.includes(data.view as CardView) ? (data.view as CardView) : "tracked";
  if (!me) {
    await ctx.identity.recordUnknown(turn, verb === REFRESH_VERB ? "card refresh" : verb);
    return verb === REFRESH_VERB ? messageResponse(UNKNOWN_USER_TEXT) : cardResponse(noteCard(UNKNOWN_USER_TEXT));
  }
  const form = await submitForm(ctx, me, verb, value, data);
  if (form) {
    await persist(ctx, turn, form);
    return cardResponse(form);
  }
  const ix = teamsInteraction(ctx, turn, me, "click");
  if (verb !== REFRESH_VERB) await runClick(ctx.flows, ix, verb, value, { comment: commentOf(data, value) });
  // The engine's events redraw every other copy of a changed card; this one is answered at once, as it is now.
  const source = await redrawSource(ctx, turn, me, view);
  const notice = ix.notice;
  if (!source)
    return notice
      ? cardResponse(adaptiveCard(noticeBlocks(notice), { fallbackText: plainText(notice.text) }))
      : messageResponse("This card is up to date.");
  const card = renderCard(source.card, { view: source.view, refreshFor: source.refreshFor, notice });
  if (source.view !== "tracked") await persist(ctx, turn, card);
  return cardResponse(card);
}

/**
 * Makes the new card the message's content for good (Teams shows an invoke's answer to the clicker
 * only). Tracked cards are left to the notifier, which redraws every copy.
 */
async function persist(ctx: TeamsContext, turn: TurnContext, card: Json): Promise<void> {
  const id = turn.activity.replyToId;
  if (!id) return;
  try {
    await turn.updateActivity({ ...cardActivity(card, String(card.fallbackText ?? "")), id });
  } catch (error) {
    ctx.log.warn({ err: error, messageId: id }, "could not replace the clicked card");
  }
}
