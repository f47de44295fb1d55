import type { Logger } from "pino";
import type { EngineDeps } from "../../app/context.js";
import type { Principal } from "../../db/repos/directory.js";
import type { AlertView } from "../views/alert.js";
import type { ChatNotifier, MfaLinkFor } from "../views/notifier.js";
import type { SlackIdentity } from "./identity.js";

/** Optional parts other modules provide; each missing one has a plain fallback. */
export interface SlackHooks {
  /** The requester's step-up link (MFA module), handed to the notifier that draws the requester's card;
   * without it the card says "complete MFA" with no link. */
  mfaLinkFor?: MfaLinkFor;
  /** The approver's step-up link when a role needs MFA from approvers too (MFA module). */
  approvalStepUpLinkFor?: (requestId: string, approverId: string) => Promise<string | null>;
  /** Starts MFA enrollment and returns the page to open (MFA module). */
  startMfaEnrollment?: (principalId: string) => Promise<string>;
  /** Acknowledges an alert and returns it as it now stands (alerts module). */
  acknowledgeAlert?: (alertId: string, principalId: string) => Promise<AlertView | null>;
  countOpenAlerts?: () => Promise<number>;
  countReviewsInProgress?: () => Promise<number>;
}

/** What every Slack handler works with. */
export interface SlackContext {
  deps: EngineDeps;
  identity: SlackIdentity;
  notifier: ChatNotifier;
  log: Logger;
  hooks: SlackHooks;
  /** The slash command as installed, "/elevate". */
  command: string;
  /** Who people should ask for access, in the "no eligible roles" message. */
  askWho: string;
}

export type { Principal };
