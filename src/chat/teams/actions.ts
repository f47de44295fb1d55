import type { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TurnContext } from "botbuilder";
import { type DecideRefusal, decide } from "../../app/decide.js";
import { cancelRequest, deactivate } from "../../app/end-activation.js";
import { getRequestView } from "../../app/queries.js";
import { ACTIONS, FORMS } from "../views/action-ids.js";
import { alreadyDecidedLine } from "../views/approval-card.js";
import { plainText, type Rich } from "../views/card.js";
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
import { openExtendForm, submitExtendForm } from "./extend-flow.js";
import { UNKNOWN_USER_TEXT } from "./identity.js";
import { noteCard } from "./reply.js";
import { openRequestForm, submitRequestForm } from "./request-flow.js";
import { REVIEW_HANDLERS } from "./review-actions.js";
import { cardActivity } from "./surface.js";

type Notice = { text: Rich; tone: "good" | "attention" | "warning" | "default" };
type Handler = (ctx: TeamsContext, turn: TurnContext, me: Principal, value: string, data: Json) => Promise<Outcome>;
/** What a click leads to: the card that replaces the clicked one, or the clicked card redrawn with a notice. */
type Outcome = { card: Json; persist: boolean } | { notice: Notice | null; sync?: string };

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

const attention = (text: Rich | string): Notice => ({
  text: typeof text === "string" ? [text] : text,
  tone: "attention",
});
const good = (text: string): Notice => ({ text: [text], tone: "good" });

/**
 * Universal Actions (`adaptiveCard/action`): every button and form submission arrives here.
 * Who clicked comes from the activity's verified sender; the card's data only names the request
 * or activation, and the engine decides whether this person may act on it. The answer is always
 * a card: the clicked card as it is now (with what happened written on it), so a late click on a
 * stale card shows the decision instead of an error.
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
  const handler = HANDLERS[verb];
  const outcome: Outcome = handler
    ? await handler(ctx, turn, me, value, data)
    : { notice: attention("This button is no longer supported; ask for a new card.") };
  if ("card" in outcome) {
    if (outcome.persist) await persist(ctx, turn, outcome.card);
    return cardResponse(outcome.card);
  }
  const source = await redrawSource(ctx, turn, me, view);
  // Other copies are redrawn after the clicker's card is drawn, so the answer is not kept waiting.
  if (outcome.sync) void ctx.notifier.syncRequest(outcome.sync);
  if (!source)
    return outcome.notice
      ? cardResponse(adaptiveCard(noticeBlocks(outcome.notice), { fallbackText: plainText(outcome.notice.text) }))
      : messageResponse("This card is up to date.");
  const card = renderCard(source.card, { view: source.view, refreshFor: source.refreshFor, notice: outcome.notice });
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

async function decideText(ctx: TeamsContext, requestId: string, refusal: DecideRefusal): Promise<Rich> {
  if (!refusal.decidedBy) return [refusal.message];
  const view = await getRequestView(ctx.deps.db, requestId, ctx.deps.clock.now());
  return alreadyDecidedLine(refusal.decidedBy, view ? view.decisions.map((d) => d.approver) : []);
}

const commentOf = (data: Json, requestId: string) => {
  const v = data[commentInputId(requestId)];
  return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
};

const HANDLERS: Record<string, Handler> = {
  ...REVIEW_HANDLERS,
  [REFRESH_VERB]: async () => ({ notice: null }),

  [ACTIONS.approve]: async (ctx, _turn, me, requestId, data) => {
    const decided = await decide(ctx.deps, {
      requestId,
      approverId: me.id,
      decision: "approve",
      comment: commentOf(data, requestId),
    });
    // An approval short of the count changes no state, so no event redraws the other copies: ask for it.
    return {
      notice: decided.ok ? null : attention(await decideText(ctx, requestId, decided.error)),
      sync: requestId,
    };
  },

  [ACTIONS.deny]: async (ctx, _turn, me, requestId, data) => {
    const comment = commentOf(data, requestId);
    if (!comment) return { notice: attention("Say why you deny it in the comment box; the requester reads it.") };
    const decided = await decide(ctx.deps, { requestId, approverId: me.id, decision: "deny", comment });
    return {
      notice: decided.ok ? null : attention(await decideText(ctx, requestId, decided.error)),
      sync: requestId,
    };
  },

  [ACTIONS.cancel]: async (ctx, _turn, me, requestId) => {
    const canceled = await cancelRequest(ctx.deps, requestId, me.id);
    return { notice: canceled.ok ? good("Request canceled.") : attention(canceled.error.message) };
  },

  [ACTIONS.endNow]: async (ctx, _turn, me, activationId) => {
    const ended = await deactivate(ctx.deps, activationId, me.id);
    return { notice: ended.ok ? good("Ending it now; it is being revoked.") : attention(ended.error.message) };
  },

  [ACTIONS.extend]: async (ctx, turn, me, activationId) => {
    const refusal = await openExtendForm(ctx, turn, me, activationId);
    return { notice: refusal ? attention(refusal) : good("The extension form is the next message.") };
  },

  [ACTIONS.activate]: async (ctx, turn, me, roleId) => {
    await openRequestForm(ctx, turn, me, roleId || null);
    return { notice: good("The request form is the next message.") };
  },

  [ACTIONS.acknowledge]: async (ctx, _turn, me, alertId) => {
    if (!ctx.hooks.acknowledgeAlert)
      return { notice: attention("Acknowledging alerts is not available in this version.") };
    const alert = await ctx.hooks.acknowledgeAlert(alertId, me.id);
    if (alert) await ctx.notifier.showAlert(alert);
    return { notice: good(alert ? `Acknowledged: ${alert.title}.` : "This alert is gone.") };
  },

  [FORMS.request]: async (ctx, _turn, me, _value, data) => {
    const card = await submitRequestForm(ctx, me, data);
    return { card, persist: true };
  },

  [FORMS.extend]: async (ctx, _turn, me, activationId, data) => ({
    card: await submitExtendForm(ctx, me, activationId, data),
    persist: true,
  }),
};
