import type { Logger } from "pino";
import type { EngineDeps } from "../../app/context.js";
import type { Principal } from "../../db/repos/directory.js";
import type { AlertView } from "../views/alert.js";
import type { ChatNotifier } from "../views/notifier.js";
import type { TeamsConversations } from "./conversations.js";
import type { TeamsIdentity } from "./identity.js";

/** Optional parts other modules provide; each missing one has a plain fallback. */
export interface TeamsHooks {
  /** Starts MFA enrollment and returns the page to open (MFA module). */
  startMfaEnrollment?: (principalId: string) => Promise<string>;
  /** Acknowledges an alert and returns it as it now stands (alerts module). */
  acknowledgeAlert?: (alertId: string, principalId: string) => Promise<AlertView | null>;
}

/** What every Teams handler works with. */
export interface TeamsContext {
  deps: EngineDeps;
  identity: TeamsIdentity;
  conversations: TeamsConversations;
  notifier: ChatNotifier;
  log: Logger;
  hooks: TeamsHooks;
  /** The command word people type, "elevate" (a leading "/" is accepted too). */
  command: string;
  /** Who people should ask for access, in the "no eligible roles" message. */
  askWho: string;
}

export type { Principal };
