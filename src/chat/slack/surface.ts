import type { webApi } from "@slack/bolt";
import type { PersonView } from "../../app/activation/views.js";
import type { ChatSurface } from "../notify/surface.js";
import type { Card } from "../views/card.js";
import { cardToMessage } from "./blocks.js";

/** Posting and redrawing cards in Slack for the notifier. */
export class SlackSurface implements ChatSurface {
  readonly platform = "slack" as const;
  private readonly dms = new Map<string, string>();
  private readonly byEmail = new Map<string, string>();

  constructor(private readonly client: webApi.WebClient) {}

  canReach(person: PersonView): boolean {
    return Boolean(person.slackId || person.email);
  }

  async directConversation(person: PersonView): Promise<string | null> {
    const userId = person.slackId ?? (person.email ? await this.userByEmail(person.email) : null);
    if (!userId) return null;
    const known = this.dms.get(userId);
    if (known) return known;
    const opened = await this.client.conversations.open({ users: userId });
    const id = opened.channel?.id;
    if (!id) return null;
    this.dms.set(userId, id);
    return id;
  }

  async post(conversationId: string, card: Card): Promise<string> {
    const result = await this.client.chat.postMessage({
      channel: conversationId,
      ...cardToMessage(card),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (!result.ts) throw new Error("chat.postMessage returned no ts");
    return result.ts;
  }

  async update(conversationId: string, messageId: string, card: Card): Promise<void> {
    await this.client.chat.update({ channel: conversationId, ts: messageId, ...cardToMessage(card) });
  }

  private async userByEmail(email: string): Promise<string | null> {
    const known = this.byEmail.get(email);
    if (known) return known;
    try {
      const found = await this.client.users.lookupByEmail({ email });
      const id = found.user?.id ?? null;
      if (id) this.byEmail.set(email, id);
      return id;
    } catch (error) {
      // Not (yet) in this workspace: asked again next time, since people join later.
      if ((error as { data?: { error?: string } }).data?.error === "users_not_found") return null;
      throw error;
    }
  }
}
