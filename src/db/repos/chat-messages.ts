import { and, eq } from "drizzle-orm";
import type { ChatMessageKind, MessageRef as ChatMessageRef, ChatPlatformName } from "../../domain/card-routing.js";
import type { Executor } from "../client.js";
import { chatMessages } from "../schema/chat-messages.js";

export type { ChatMessageKind, ChatMessageRef, ChatPlatformName };

/** Every message a platform has posted about one subject (a request, an alert). */
export async function chatMessagesFor(
  db: Executor,
  platform: ChatPlatformName,
  subjectId: string,
): Promise<ChatMessageRef[]> {
  const rows = await db
    .select()
    .from(chatMessages)
    .where(and(eq(chatMessages.platform, platform), eq(chatMessages.subjectId, subjectId)));
  return rows.map((r) => ({
    platform: r.platform as ChatPlatformName,
    subjectId: r.subjectId,
    kind: r.kind,
    principalId: r.principalId,
    conversationId: r.conversationId,
    messageId: r.messageId,
  }));
}

/**
 * Records a posted message. When another process recorded one for the same place first, theirs
 * stays and is returned, so the caller can update it and drop its own.
 */
export async function recordChatMessage(db: Executor, ref: ChatMessageRef, at: Date): Promise<ChatMessageRef> {
  const inserted = await db
    .insert(chatMessages)
    .values({ ...ref, createdAt: at, updatedAt: at })
    .onConflictDoNothing()
    .returning({ messageId: chatMessages.messageId });
  if (inserted.length === 1) return ref;
  const [existing] = await db
    .select({ messageId: chatMessages.messageId })
    .from(chatMessages)
    .where(
      and(
        eq(chatMessages.platform, ref.platform),
        eq(chatMessages.subjectId, ref.subjectId),
        eq(chatMessages.kind, ref.kind),
        eq(chatMessages.conversationId, ref.conversationId),
      ),
    );
  return { ...ref, messageId: existing?.messageId ?? ref.messageId };
}

export async function touchChatMessage(db: Executor, ref: ChatMessageRef, at: Date): Promise<void> {
  await db
    .update(chatMessages)
    .set({ updatedAt: at })
    .where(
      and(
        eq(chatMessages.platform, ref.platform),
        eq(chatMessages.subjectId, ref.subjectId),
        eq(chatMessages.kind, ref.kind),
        eq(chatMessages.conversationId, ref.conversationId),
      ),
    );
}
