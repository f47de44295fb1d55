import type { Logger } from "pino";
import type { EngineDeps } from "../../app/context.js";
import type { ChatMessage, Delivery, MessageKey } from "../../app/delivery.js";
import type { PersonView } from "../../app/queries.js";
import { chatMessagesFor, recordChatMessage, touchChatMessage } from "../../db/repos/chat-messages.js";
import { getSetting } from "../../db/repos/directory.js";
import type { Card } from "./card.js";
import { digestCard } from "./digest.js";
import { expiringCard } from "./expiring-notice.js";
import { factorNoticeCard } from "./mfa-factor-notice.js";
import type { ChannelSettings, ChatNotifier, ChatSurface } from "./notifier.js";
import { policyNoticeCard, removalsCard } from "./policy-notice.js";
import { reviewPromptCard, reviewReminderCard, reviewSummaryCard } from "./review-card.js";
import { revokedNoticeCard } from "./revoked-notice.js";
import { alertOverflowCard, alertViewOf } from "./security-alert.js";

/** Every message of the Delivery port as a neutral card; the platforms draw it. */
export function cardFor(message: ChatMessage, now: Date): Card {
  switch (message.type) {
    case "alert":
      throw new Error("alerts are drawn by the chat notifier (alertCard), not here");
    case "alerts.overflow":
      return alertOverflowCard(message);
    case "review.prompt":
      return reviewPromptCard(message.page, now);
    case "review.reminder":
      return reviewReminderCard(message.reminder, now);
    case "review.summary":
      return reviewSummaryCard(message.summary);
    case "expiring":
      return expiringCard(message.notice, now);
    case "activity":
      return policyNoticeCard(message.notice);
    case "removals":
      return removalsCard(message.notice);
    case "digest":
      return digestCard(message.digest);
    case "mfa.factor":
      return factorNoticeCard(message.notice);
    case "activation.revoked":
      return revokedNoticeCard(message.notice);
    default: {
      const never: never = message;
      throw new Error(`unknown message ${String(never)}`);
    }
  }
}

/**
 * Delivers alerts, reviews, notices and digests on the platforms the chat notifier has: a person
 * on the first platform that reaches them (or where their message already is, to redraw it in
 * place), the alert channel on every platform that has one. Alerts go through the notifier, so an
 * Acknowledge click redraws the same card.
 */
export class ChatDelivery implements Delivery {
  constructor(
    private readonly notifier: ChatNotifier,
    private readonly deps: Pick<EngineDeps, "db" | "clock">,
    private readonly log: Logger,
  ) {}

  async toPerson(person: PersonView, message: ChatMessage, key?: MessageKey): Promise<boolean> {
    const card = cardFor(message, this.deps.clock.now());
    const surfaces = this.notifier.connectedSurfaces();
    if (key) {
      for (const surface of surfaces) {
        const rows = await chatMessagesFor(this.deps.db, surface.platform, key.subjectId);
        const row = rows.find((r) => r.kind === key.kind && r.principalId === person.id);
        if (!row) continue;
        return this.attempt(surface, key, async () => {
          await surface.update(row.conversationId, row.messageId, card);
          await touchChatMessage(this.deps.db, row, this.deps.clock.now());
        });
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
    const channels = (await getSetting<ChannelSettings>(this.deps.db, "channels")) ?? {};
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
        (await this.attempt(surface, key, async () => {
          const existing = key
            ? (await chatMessagesFor(this.deps.db, surface.platform, key.subjectId)).find(
                (r) => r.kind === key.kind && r.conversationId === channel,
              )
            : undefined;
          if (existing) {
            await surface.update(channel, existing.messageId, card);
            await touchChatMessage(this.deps.db, existing, this.deps.clock.now());
          } else await this.post(surface, channel, card, key, null);
        })) || delivered;
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
    const messageId = await surface.post(conversationId, card);
    if (!key) return;
    const ref = { platform: surface.platform, ...key, principalId, conversationId, messageId };
    const kept = await recordChatMessage(this.deps.db, ref, this.deps.clock.now());
    // Another replica posted the same message first: keep theirs current, ours says the same.
    if (kept.messageId !== messageId) await surface.update(conversationId, kept.messageId, card);
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
