import type { ChatPlatformName } from "../../domain/card-routing.js";
import type { PersonView } from "../../domain/request-view.js";
import type { Card } from "../views/card.js";

/** What a chat platform must offer the outbound side: reach a person, post a card, redraw it. */
export interface ChatSurface {
  readonly platform: ChatPlatformName;
  /** Whether a person can be reached here at all (a platform id, or an email the platform can look up). */
  canReach(person: PersonView): boolean;
  /** The direct conversation with a person, or null when they cannot be reached on this platform. */
  directConversation(person: PersonView): Promise<string | null>;
  /** Posts a card; returns the platform's message id. */
  post(conversationId: string, card: Card): Promise<string>;
  update(conversationId: string, messageId: string, card: Card): Promise<void>;
}
