import type { TurnContext } from "botbuilder";
import { type Card, plainText, type Rich } from "../views/card.js";
import { adaptiveCard, type CardView, type Json, renderCard, richBlocks } from "./cards.js";
import { cardActivity } from "./surface.js";

/**
 * A short answer as a one-line card: Teams reads a message's `text` as markdown, a card's
 * TextRuns never, so even a note that quotes what someone typed cannot format or mention.
 */
export function noteCard(text: Rich | string): Json {
  const rich = typeof text === "string" ? [text] : text;
  return adaptiveCard(richBlocks(rich), { fallbackText: plainText(rich).slice(0, 500) });
}

export async function replyNote(turn: TurnContext, text: Rich | string): Promise<void> {
  const rich = typeof text === "string" ? [text] : text;
  await turn.sendActivity(cardActivity(noteCard(rich), plainText(rich)));
}

export async function replyCard(turn: TurnContext, card: Card, view: CardView): Promise<void> {
  await turn.sendActivity(cardActivity(renderCard(card, { view }), card.summary));
}

export async function replyJson(turn: TurnContext, card: Json, summary: string): Promise<string | undefined> {
  return (await turn.sendActivity(cardActivity(card, summary)))?.id;
}
