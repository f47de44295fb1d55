/**
 * What chat reads and records about its own messages and conversations: which message shows
 * what to whom (so cards are redrawn in place), the channels pim.yaml names, and the Teams
 * conversations the bot may write to. Chat asks here; the tables stay behind src/db/.
 */
import type { Executor } from "../../db/client.js";
import { chatMessagesFor, recordChatMessage, touchChatMessage } from "../../db/repos/chat-messages.js";
import { getSetting } from "../../db/repos/directory.js";
import type { ChannelSettings, ChatPlatformName, MessageRef } from "../../domain/card-routing.js";

export {
  latestTeamsConversation,
  personalConversationOf,
  reachableTeamsPrincipals,
  saveTeamsConversation,
  type TeamsConversation,
  type TeamsConversationKind,
  teamsCardAt,
  teamsConversationById,
} from "../../db/repos/teams-conversations.js";

/** Every message a platform has posted about one subject (a request, an alert, a review page). */
export function messagesAbout(db: Executor, platform: ChatPlatformName, subjectId: string): Promise<MessageRef[]> {
  return chatMessagesFor(db, platform, subjectId);
}

/**
 * Records a posted message; when another process recorded one for the same place first, theirs
 * is kept and returned, so the caller redraws it and drops its own.
 */
export function recordMessage(db: Executor, ref: MessageRef, at: Date): Promise<MessageRef> {
  return recordChatMessage(db, ref, at);
}

/** Notes that a recorded message was redrawn. */
export function touchMessage(db: Executor, ref: MessageRef, at: Date): Promise<void> {
  return touchChatMessage(db, ref, at);
}

/** The alert and approvals channels of each platform, as the last `apply` stored them. */
export async function channelSettings(db: Executor): Promise<ChannelSettings> {
  return (await getSetting<ChannelSettings>(db, "channels")) ?? {};
}
