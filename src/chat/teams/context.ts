import type { Principal } from "../flows/interaction.js";
import type { PlatformContext } from "../platform.js";
import type { TeamsConversations } from "./conversations.js";
import type { TeamsIdentity } from "./identity.js";

/** What every Teams handler works with. */
export interface TeamsContext extends PlatformContext {
  identity: TeamsIdentity;
  conversations: TeamsConversations;
}

export type { Principal };
