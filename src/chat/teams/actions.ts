import type { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TurnContext } from "botbuilder";
import { runClick } from "../flows/clicks.js";
import { actionFailed, formNotSaved, logNotRecorded, tryRecording } from "../flows/recording.js";
import { FORMS } from "../views/action-ids.js";
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
import { answerNow, requestIdOfTurn } from "./http-shim.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { type Notice, teamsInteraction } from "./interaction.js";
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
  sender: () => Promise<Principal | undefined>,
): Promise<AdaptiveCardInvokeResponse> {
  const verb = invoke.action?.verb ?? "";
  const data = (invoke.action?.data ?? {}) as Json;
  const value = typeof data.value === "string" ? data.value : "";
  const view: CardView = VIEWS.includes(data.view as CardView) ? (data.view as CardView) : "tracked";
  if (verb === REFRESH_VERB) {
    const me = await sender();
    if (!me) {
      await ctx.identity.recordUnknown(turn, "card refresh");
      return messageResponse(UNKNOWN_USER_TEXT);
    }
    return redrawn(ctx, turn, me, view, null);
  }
  if (FORM_VERBS.has(verb)) return onFormSubmitted(ctx, turn, sender, verb, value, data);
  const ix = teamsInteraction(ctx, turn, sender, "click", verb);
  const clicked = runClick(ctx.flows, ix, verb, value, { comment: commentOf(data, value) });
  const late = await Promise.race([clicked.then(() => null), ix.answeredLate]);
  if (late !== null) {
    // Teams waits no longer: it is answered that the click is still being tried, and the turn goes on.
    const answer = messageResponse(late);
    answerNow(turn, answer.statusCode, answer);
    await clicked;
    return answer;
  }
  if (ix.failure) return errorResponse(ix.failure);
  if (!ix.me) return cardResponse(noteCard(UNKNOWN_USER_TEXT));
  return redrawn(ctx, turn, ix.me, view, ix.notice);
}

/** Teams' own error on a card: shown to the clicker, and the card stays as it was, buttons and inputs included. */
const errorResponse = (message: string): AdaptiveCardInvokeResponse => ({
  statusCode: 500,
  type: "application/vnd.microsoft.error",
  value: { code: "NotRecorded", message } as unknown as Record<string, unknown>,
});

/** Every form of the product; Teams has no deny form (the reason is typed next to the Deny button). */
const FORM_VERBS = new Set<string>(Object.values(FORMS).filter((f) => f !== FORMS.deny));

/**
 * A submitted form, again while Teams still waits for the answer when the database failed it
 * for a moment. One that could not be saved keeps the form as it was, with the card's error.
 */
async function onFormSubmitted(
  ctx: TeamsContext,
  turn: TurnContext,
  sender: () => Promise<Principal | undefined>,
  verb: string,
  value: string,
  data: Json,
): Promise<AdaptiveCardInvokeResponse> {
  const requestId = requestIdOfTurn(turn);
  const log = ctx.log.child({ requestId, form: verb });
  const { recording } = ctx.flows;
  const recorded = await tryRecording(recording, log, recording.answerMs, async () => {
    const me = await sender();
    if (me) return submitForm(ctx, me, verb, value, data);
    await ctx.identity.recordUnknown(turn, verb);
    return null;
  }).catch((error: unknown) => {
    log.error({ err: error }, `the ${verb} submission failed`);
    return null;
  });
  if (!recorded) return errorResponse(actionFailed(requestId));
  if (!recorded.ok) {
    logNotRecorded(log, recorded, `the ${verb} submission`);
    return errorResponse(formNotSaved(requestId));
  }
  // Someone PIM does not know is told so; the form stays as it was for everyone else.
  if (!recorded.value) return cardResponse(noteCard(UNKNOWN_USER_TEXT));
  await persist(ctx, turn, recorded.value);
  return cardResponse(recorded.value);
}

/**
 * The clicked card as it is now, with what happened written on it. The engine's events redraw
 * every other copy of a changed card; this one is answered at once.
 */
async function redrawn(
  ctx: TeamsContext,
  turn: TurnContext,
  me: Principal,
  view: CardView,
  notice: Notice | null,
): Promise<AdaptiveCardInvokeResponse> {
  const source = await redrawSource(ctx, turn, me, view).catch((error: unknown) => {
    // Recorded already; the notifier redraws the card once the database answers again.
    ctx.log.warn({ err: error, requestId: requestIdOfTurn(turn) }, "could not redraw the clicked card");
    return null;
  });
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
