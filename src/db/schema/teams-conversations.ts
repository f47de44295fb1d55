import { index, pgTable, text } from "drizzle-orm/pg-core";
import { at } from "./columns.js";

/**
 * Where the Teams bot can reach a conversation without being spoken to first: the conversation
 * reference Bot Framework gives with every activity, kept so approver cards and alerts can be
 * posted proactively. One row per conversation; a personal chat also names its user.
 */
export const teamsConversations = pgTable(
  "teams_conversations",
  {
    /** a:… for a personal chat, 19:…@thread.… for a channel or group chat. */
    conversationId: text("conversation_id").primaryKey(),
    /** personal | channel | groupChat. */
    kind: text("kind").notNull(),
    /** The user's Microsoft Entra object id (personal chats only), lower case. */
    aadObjectId: text("aad_object_id"),
    /** The user's Teams id (29:…), which `refresh.userIds` of a card names. */
    userId: text("user_id"),
    /** The principal the user was mapped to, when they were known at the time. */
    principalId: text("principal_id"),
    tenantId: text("tenant_id"),
    /** The Bot Connector base URL of the user's region; replies and updates go there. */
    serviceUrl: text("service_url").notNull(),
    /** The bot's own id in this conversation (28:…). */
    botId: text("bot_id"),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [
    index("teams_conversations_aad_idx").on(t.aadObjectId),
    index("teams_conversations_principal_idx").on(t.principalId),
  ],
);
