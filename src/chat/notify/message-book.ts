import type { EngineDeps } from "../../app/kernel/unit-of-work.js";
import { messagesAbout, recordMessage, touchMessage } from "../../app/notices/chat-messages.js";
import type { ChatMessageKind, MessageRef } from "../../domain/card-routing.js";
import type { Card } from "../views/card.js";
import type { ChatSurface } from "./surface.js";

export interface MessageKeyOn {
  kind: ChatMessageKind;
  subjectId: string;
  principalId: string | null;
}

/**
 * The one place chat posts a tracked message and records where it went, and redraws one in
 * place: the notifier and the delivery of alerts, reviews and notices both go through it.
 */
export class MessageBook {
  constructor(private readonly deps: Pick<EngineDeps, "db" | "clock">) {}

  about(surface: ChatSurface, subjectId: string): Promise<MessageRef[]> {
    return messagesAbout(this.deps.db, surface.platform, subjectId);
  }

  /** Posts a card and records it; when another replica posted first, theirs is kept and redrawn. */
  async post(surface: ChatSurface, key: MessageKeyOn, conversationId: string, card: Card): Promise<void> {
    const messageId = await surface.post(conversationId, card);
    const ref = { platform: surface.platform, ...key, conversationId, messageId };
    const kept = await recordMessage(this.deps.db, ref, this.deps.clock.now());
    // Ours is a duplicate that says the same; keep theirs current.
    if (kept.messageId !== messageId) await surface.update(conversationId, kept.messageId, card);
  }

  /** The message a key already has in a conversation is redrawn; without one, it is posted and recorded. */
  async upsert(surface: ChatSurface, key: MessageKeyOn, conversationId: string, card: Card): Promise<void> {
    const existing = (await this.about(surface, key.subjectId)).find(
      (r) => r.kind === key.kind && r.principalId === key.principalId && r.conversationId === conversationId,
    );
    if (existing) await this.redraw(surface, existing, card);
    else await this.post(surface, key, conversationId, card);
  }

  /** Redraws a recorded message in place. */
  async redraw(surface: ChatSurface, ref: MessageRef, card: Card): Promise<void> {
    await surface.update(ref.conversationId, ref.messageId, card);
    await touchMessage(this.deps.db, ref, this.deps.clock.now());
  }
}
