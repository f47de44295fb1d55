import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { at, createdAt } from "./columns.js";

/**
 * Which chat message shows what to whom, so a card is updated in place as its subject moves on
 * instead of a new message being posted for every change. Shared by every platform.
 */
export const chatMessages = pgTable(
  "chat_messages",
  {
    /** "slack" or "teams". */
    platform: text("platform").notNull(),
    /** What the message is about: a request id (req_…), or an alert or review id. */
    subjectId: text("subject_id").notNull(),
    /** requester | approver | channel (approvers' channel card) | notice (alert channel) | alert. */
    kind: text("kind").notNull(),
    /** The principal the message was drawn for; null for channel posts. */
    principalId: text("principal_id"),
    /** Slack channel id (D…/C…) or Teams conversation id. */
    conversationId: text("conversation_id").notNull(),
    /** Slack message ts or Teams activity id. */
    messageId: text("message_id").notNull(),
    createdAt: createdAt(),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("chat_messages_once_idx").on(t.platform, t.subjectId, t.kind, t.conversationId),
    index("chat_messages_subject_idx").on(t.subjectId),
  ],
);
