import type { ResolvedAuditFilter } from "../app/admin/audit-filter.js";
import type { DownloadFile } from "../app/admin/downloads.js";
import type { Refusal } from "../domain/refusal.js";
import type { Result } from "../domain/result.js";
import type { AlertView } from "./views/alert.js";

/**
 * What chat needs from the other modules, built once in composition and handed to the notifier
 * and to every platform alike, so no platform can lack a part another one has.
 */
export interface ChatPorts {
  /** The requester's one-time step-up link for a request waiting for MFA (MFA module). */
  mfaLinkFor(requestId: string, activationId: string, principalId: string): Promise<string | null>;
  /** The approver's step-up link when a role asks approvers for MFA too, carrying their comment (MFA module). */
  approvalStepUpLinkFor(requestId: string, approverId: string, comment: string | null): Promise<string | null>;
  /**
   * The administrator's one-time step-up link for an active assignment held until they pass MFA
   * (MFA module); null when it is not theirs, no longer waits, or no link can be given now.
   */
  assignmentStepUpLinkFor(pendingId: string, adminId: string): Promise<string | null>;
  /** Starts MFA enrollment and returns the page to open (MFA module). */
  startMfaEnrollment(principalId: string): Promise<string>;
  /** Acknowledges an alert and returns it as it now stands; null when not allowed or gone (alerts module). */
  acknowledgeAlert(alertId: string, principalId: string): Promise<AlertView | null>;
  countOpenAlerts(): Promise<number>;
  countReviewsInProgress(): Promise<number>;
  /** The audit log as CSV for an administrator or auditor: `pim audit export`'s bytes, audited; or why not (database). */
  exportAudit(
    principalId: string,
    filter: ResolvedAuditFilter,
  ): Promise<Result<{ rows: number; csv: Buffer }, Refusal>>;
  /** A short-lived, single-use link to a file kept for one person, for platforms that take no files from bots (HTTP server). */
  downloadLinkFor(principalId: string, file: DownloadFile): Promise<{ url: string; expiresAt: Date }>;
}
