import { and, desc, eq, isNotNull, or, sql } from "drizzle-orm";
import type { Executor } from "../client.js";
import { chatMessages } from "../schema/chat-messages.js";
import { teamsConversations } from "../schema/teams-conversations.js";

export type TeamsConversationKind = "personal" | "channel" | "groupChat";

export interface TeamsConversation {
  conversationId: string;
  kind: TeamsConversationKind;
  aadObjectId: string | null;
  userId: string | null;
  principalId: string | null;
  tenantId: string | null;
  serviceUrl: string;
  botId: string | null;
}

const toConversation = (row: typeof teamsConversations.$inferSelect): TeamsConversation => ({
  conversationId: row.conversationId,
  kind: row.kind as TeamsConversationKind,
  aadObjectId: row.aadObjectId,
  userId: row.userId,
  principalId: row.principalId,
  tenantId: row.tenantId,
  serviceUrl: row.serviceUrl,
  botId: row.botId,
});

/**
 * Stores or refreshes a conversation reference; a known principal is never forgotten by a later
 * unmapped sighting. True when the conversation was new (the row was inserted, not updated).
 */
export async function saveTeamsConversation(db: Executor, ref: TeamsConversation, at: Date): Promise<boolean> {
  const [row] = await db
    .insert(teamsConversations)
    .values({ ...ref, updatedAt: at })
    .onConflictDoUpdate({
      target: teamsConversations.conversationId,
      set: {
        kind: ref.kind,
        serviceUrl: ref.serviceUrl,
        updatedAt: at,
        ...(ref.aadObjectId ? { aadObjectId: ref.aadObjectId } : {}),
        ...(ref.userId ? { userId: ref.userId } : {}),
        ...(ref.principalId ? { principalId: ref.principalId } : {}),
        ...(ref.tenantId ? { tenantId: ref.tenantId } : {}),
        ...(ref.botId ? { botId: ref.botId } : {}),
      },
    })
    .returning({ inserted: sql<boolean>`(xmax = 0)` });
  return row?.inserted === true;
}

export async function teamsConversationById(db: Executor, conversationId: string): Promise<TeamsConversation | null> {
  const [row] = await db.select().from(teamsConversations).where(eq(teamsConversations.conversationId, conversationId));
  return row ? toConversation(row) : null;
}

/** The latest personal chat with a user, by Entra object id or by the principal they were mapped to. */
export async function personalConversationOf(
  db: Executor,
  who: { aadObjectId: string | null; principalId: string },
): Promise<TeamsConversation | null> {
  const [row] = await db
    .select()
    .from(teamsConversations)
    .where(
      and(
        eq(teamsConversations.kind, "personal"),
        who.aadObjectId
          ? or(
              eq(teamsConversations.aadObjectId, who.aadObjectId.toLowerCase()),
              eq(teamsConversations.principalId, who.principalId),
            )
          : eq(teamsConversations.principalId, who.principalId),
      ),
    )
    .orderBy(desc(teamsConversations.updatedAt))
    .limit(1);
  return row ? toConversation(row) : null;
}

/** The most recently seen conversation that tells a service URL (and tenant) to use for a new one. */
export async function latestTeamsConversation(
  db: Executor,
  tenantId: string | null,
): Promise<TeamsConversation | null> {
  const [row] = await db
    .select()
    .from(teamsConversations)
    .where(tenantId ? eq(teamsConversations.tenantId, tenantId) : isNotNull(teamsConversations.serviceUrl))
    .orderBy(desc(teamsConversations.updatedAt))
    .limit(1);
  return row ? toConversation(row) : null;
}

/** Principals who have a personal chat with the bot (so they can be reached without an Entra id in pim.yaml). */
export async function reachableTeamsPrincipals(db: Executor): Promise<string[]> {
  const rows = await db
    .selectDistinct({ principalId: teamsConversations.principalId })
    .from(teamsConversations)
    .where(and(eq(teamsConversations.kind, "personal"), isNotNull(teamsConversations.principalId)));
  return rows.map((r) => r.principalId!);
}

/** What a posted Teams card shows: found from the message a click or a refresh came from. */
export async function teamsCardAt(
  db: Executor,
  conversationId: string,
  messageId: string,
): Promise<{ subjectId: string; kind: string; principalId: string | null } | null> {
  const [row] = await db
    .select({ subjectId: chatMessages.subjectId, kind: chatMessages.kind, principalId: chatMessages.principalId })
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.platform, "teams"),
        eq(chatMessages.conversationId, conversationId),
        eq(chatMessages.messageId, messageId),
      ),
    )
    .limit(1);
  return row ?? null;
}
