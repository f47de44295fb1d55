/**
 * The port through which alerts, reviews, notices and digests reach people: the use cases say what
 * to tell whom, chat (src/chat/notify/) decides how each platform draws it.
 */
import type { ChatMessage, MessageKey } from "../../domain/notices.js";
import type { PersonView } from "../../domain/request-view.js";

export type { ChatMessage, FactorNotice, MessageKey, RevokedNotice } from "../../domain/notices.js";

export interface Delivery {
  /** A direct message to one person; false when they cannot be reached on any platform. */
  toPerson(person: PersonView, message: ChatMessage, key?: MessageKey): Promise<boolean>;
  /** A post in each platform's alert channel; false when no alert channel is configured. */
  toAlertChannel(message: ChatMessage, key?: MessageKey): Promise<boolean>;
}

/** For processes with no chat at all: everything is dropped, and says so. */
export const noDelivery: Delivery = {
  toPerson: async () => false,
  toAlertChannel: async () => false,
};
