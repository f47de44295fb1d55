import type { Activity, CloudAdapter } from "botbuilder";
import type { PersonView } from "../../app/activation/views.js";
import type { ChatSurface } from "../notify/surface.js";
import type { Card } from "../views/card.js";
import { cardAttachment, type Json, renderCard, truncate } from "./cards.js";
import type { TeamsConversations } from "./conversations.js";

/** A message activity carrying one card; `summary` is what Teams shows in notifications. */
export function cardActivity(card: Json, summary: string): Partial<Activity> {
  return { type: "message", attachments: [cardAttachment(card)], summary: truncate(summary, 250) };
}

/**
 * Posting and redrawing cards in Teams for the notifier, proactively: each call continues the
 * stored conversation through the adapter, so the same authentication and connector serve it.
 */
export class TeamsSurface implements ChatSurface {
  readonly platform = "teams" as const;

  constructor(
    private readonly adapter: CloudAdapter,
    private readonly conversations: TeamsConversations,
    private readonly appId: string,
  ) {}

  canReach(person: PersonView): boolean {
    return this.conversations.canReach(person);
  }

  directConversation(person: PersonView): Promise<string | null> {
    return this.conversations.directWith(person);
  }

  async post(conversationId: string, card: Card): Promise<string> {
    const id = await this.send(conversationId, await this.tracked(conversationId, card));
    if (!id) throw new Error("the Bot Connector returned no activity id");
    return id;
  }

  async update(conversationId: string, messageId: string, card: Card): Promise<void> {
    const activity = { ...(await this.tracked(conversationId, card)), id: messageId };
    await this.adapter.continueConversationAsync(
      this.appId,
      await this.conversations.referenceFor(conversationId),
      async (turn) => {
        await turn.updateActivity(activity);
      },
    );
  }

  /** Sends any activity into a conversation; returns the new message's id. */
  async send(conversationId: string, activity: Partial<Activity>): Promise<string> {
    let id = "";
    await this.adapter.continueConversationAsync(
      this.appId,
      await this.conversations.referenceFor(conversationId),
      async (turn) => {
        id = (await turn.sendActivity(activity))?.id ?? "";
      },
    );
    return id;
  }

  /** A card the notifier keeps current; in a personal chat Teams also redraws it whenever its user looks. */
  private async tracked(conversationId: string, card: Card): Promise<Partial<Activity>> {
    const userId = await this.conversations.userIdIn(conversationId);
    return cardActivity(renderCard(card, { view: "tracked", refreshFor: userId ? [userId] : [] }), card.summary);
  }
}
