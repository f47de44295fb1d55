import type { Logger } from "pino";
import type { EngineDeps } from "../../app/kernel/unit-of-work.js";
import { channelSettings } from "../../app/notices/chat-messages.js";
import type { ChatMessage, Delivery, MessageKey } from "../../app/notices/delivery.js";
import type { PersonView } from "../../domain/request-view.js";
import type { Card } from "../views/card.js";
import { cardFor } from "../views/message-card.js";
import { alertViewOf } from "../views/security-alert.js";
import { MessageBook } from "./message-book.js";
import type { ChatNotifier } from "./notifier.js";
import type { ChatSurface } from "./surface.js";

/**
 * Delivers alerts, reviews, notices and digests on the platforms the chat notifier has: a person
 * on the first platform that reaches them (or where their message already is, to redraw it in
 * place), the alert channel on every platform that has one. Alerts go through the notifier, so an
 * Acknowledge click redraws the same card.
 */
export class ChatDelivery implements Delivery {
  private readonly book: MessageBook;

  constructor(
    private readonly notifier: ChatNotifier,
    private readonly deps: Pick<EngineDeps, "db" | "clock">,
    private readonly log: Logger,
  ) {
    this.book = new MessageBook(deps);
  }

  async toPerson(person: PersonView, message: ChatMessage, key?: MessageKey): Promise<boolean> {
    const card = cardFor(message, this.deps.clock.now());
    const surfaces = this.notifier.connectedSurfaces();
    if (key) {
      for (const surface of surfaces) {
        const rows = await this.book.about(surface, key.subjectId);
        const row = rows.find((r) => r.kind === key.kind && r.principalId === person.id);
        if (!row) continue;
        return this.attempt(surface, key, () => this.book.redraw(surface, row, card));
      }
    }
    for (const surface of surfaces.filter((s) => s.canReach(person))) {
      const delivered = await this.attempt(surface, key, async () => {
        const conversation = await surface.directConversation(person);
        if (!conversation) return false;
        await this.post(surface, conversation, card, key, person.id);
        return true;
      });
      if (delivered) return true;
    }
    return false;
  }

  async toAlertChannel(message: ChatMessage, key?: MessageKey): Promise<boolean> {
    const channels = await channelSettings(this.deps.db);
    const surfaces = this.notifier.connectedSurfaces().filter((s) => channels[s.platform]?.alerts);
    if (surfaces.length === 0) return false;
    if (message.type === "alert") {
      await this.notifier.showAlert(alertViewOf(message.alert));
      return true;
    }
    const card = cardFor(message, this.deps.clock.now());
    let delivered = false;
    for (const surface of surfaces) {
      const channel = channels[surface.platform]!.alerts!;
      delivered =
        (await this.attempt(surface, key, () =>
          key ? this.book.upsert(surface, { ...key, principalId: null }, channel, card) : surface.post(channel, card),
        )) || delivered;
    }
    return delivered;
  }

  private async post(
    surface: ChatSurface,
    conversationId: string,
    card: Card,
    key: MessageKey | undefined,
    principalId: string | null,
  ): Promise<void> {
    if (key) await this.book.post(surface, { ...key, principalId }, conversationId, card);
    else await surface.post(conversationId, card);
  }

  /** One platform failing must not stop the others: it is logged and the next is tried. */
  private async attempt(surface: ChatSurface, key: MessageKey | undefined, work: () => Promise<unknown>) {
    try {
      return (await work()) !== false;
    } catch (error) {
      this.log.warn(
        { err: error, platform: surface.platform, subject: key?.subjectId },
        "could not deliver a chat message",
      );
      return false;
    }
  }
}
