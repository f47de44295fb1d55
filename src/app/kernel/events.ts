import type { JobRow } from "../../db/repos/outbox.js";
import type { AlertKind } from "../../domain/notices.js";

export type { AlertKind };

/** What happened, told to chat and jobs after the transaction that made it true has committed. */
export type EngineEvent =
  | { type: "request.changed"; requestId: string }
  | { type: "approval.needed"; requestId: string; approverIds: string[] }
  /**
   * Grants or revokes were written: `claimed`, those written claimed by this process's worker, to
   * run at once; otherwise the earliest of those left for a claim.
   */
  | { type: "holding.job"; jobId: string; runAt: Date; claimed?: JobRow[] }
  | { type: "activation.active"; activationId: string; endsAt: Date }
  /**
   * An administrator took an activation away: its holder is told who and why. Emitted when the
   * revoke is asked (with who and why) and again when it is done (null: read from the audit log).
   */
  | {
      type: "activation.revoked";
      activationId: string;
      requestId: string;
      holderId: string;
      revokedBy: string | null;
      reason: string | null;
    }
  | { type: "alert"; kind: AlertKind; subject: string; detail: Record<string, unknown> }
  /** An access review started, got decisions (on these items), closed or was applied: chat redraws it. */
  | {
      type: "review.changed";
      campaignId: string;
      change: "started" | "decided" | "closed" | "applied";
      itemIds: string[];
    }
  | AssignmentEvent;

/**
 * Assignments changed by administrators, reminders before they end, and extension or renewal
 * requests: each names the people to tell, resolved when it happened (see src/app/admin/).
 */
export type AssignmentEvent =
  | {
      type: "assignment.changed";
      change: "created" | "pending_step_up" | "updated" | "removed";
      assignmentId: string | null;
      /** The assignment request waiting for the administrator's step-up, when `pending_step_up`. */
      pendingId: string | null;
      principalId: string;
      roleId: string;
      scope: string;
      kind: "eligible" | "active";
      endsAt: Date | null;
      /** Principal key of the administrator, or `cli:<login>`. */
      actor: string;
      reason: string | null;
      /** Users the role's `notifications.assignment` names (plus the holder), and whether the alert channel is told. */
      audienceIds: string[];
      alertChannel: boolean;
    }
  | {
      type: "assignment.expiring";
      assignmentId: string;
      principalId: string;
      roleId: string;
      scope: string;
      kind: "eligible" | "active";
      endsAt: Date;
      /** Which reminder: 14 days or 1 day before the end, in ms. */
      leadMs: number;
      holderIds: string[];
      administratorIds: string[];
    }
  | {
      type: "assignment.request";
      requestId: string;
      request: "extend" | "renew";
      change: "requested" | "approved" | "denied";
      assignmentId: string;
      requesterId: string;
      /** The administrators who may decide (requested), or who decided (approved, denied). */
      administratorIds: string[];
    };

export interface EventSink {
  publish(event: EngineEvent): void;
}

export const noEvents: EventSink = { publish: () => {} };
