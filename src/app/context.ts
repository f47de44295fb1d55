import { type AuditEntry, appendAudit, appendsInOneStatement } from "../db/audit-append.js";
import { commitMayFollowPending, type Database, type Tx } from "../db/client.js";
import { type StoredActivation, saveActivation } from "../db/repos/activations.js";
import { type Principal, prefetchDirectoryVersion, type Role } from "../db/repos/directory.js";
import type { Claimant, JobRow } from "../db/repos/outbox.js";
import type { Activation } from "../domain/activation.js";
import type { AlertKind } from "../domain/notices.js";
import type { Clock } from "./ports.js";

export type { AlertKind };

/** What happened, told to chat and jobs after the transaction that made it true has committed. */
export type EngineEvent =
  | { type: "request.changed"; requestId: string }
  | { type: "approval.needed"; requestId: string; approverIds: string[] }
  /** A grant or revoke was written; `claimed` when it was written claimed by this process's worker. */
  | { type: "holding.job"; jobId: string; runAt: Date; claimed?: JobRow }
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

export interface EngineDeps {
  db: Database;
  clock: Clock;
  events: EventSink;
  /**
   * This process's outbox worker, when one runs here and listens to `events`: grants and revokes
   * due at once are written claimed by it and announced with their rows, so it runs them the
   * moment the transaction commits, without a claim. Without it they wait for a claim.
   */
  claimant?: Claimant;
}

/** One unit of work: a transaction, its audit entries and the events to publish once it commits. */
export interface Work {
  tx: Tx;
  now: Date;
  audit(entry: Omit<AuditEntry, "at"> & { at?: Date }): void;
  emit(event: EngineEvent): void;
  /** See EngineDeps.claimant. */
  claimant: Claimant | null;
  /**
   * A write whose result nothing in the unit waits for: it goes out with the next statement
   * instead of on its own, and the unit fails, and rolls back, if it fails. Statements on one
   * transaction run in the order they were started, so later reads see its effect.
   */
  send(write: Promise<unknown>): void;
}

export async function inTransaction<T>(deps: EngineDeps, fn: (work: Work) => Promise<T>): Promise<T> {
  const events: EngineEvent[] = [];
  let appended: Promise<void> = Promise.resolve();
  const result = await deps.db.transaction(async (tx) => {
    // Every unit names principals and roles in its audit events.
    prefetchDirectoryVersion(tx);
    const entries: AuditEntry[] = [];
    const sent: Promise<unknown>[] = [];
    const now = deps.clock.now();
    const value = await fn({
      tx,
      now,
      audit: (entry) => entries.push({ ...entry, at: entry.at ?? now }),
      emit: (event) => events.push(event),
      claimant: deps.claimant ?? null,
      send: (write) => {
        write.catch(() => {}); // awaited below
        sent.push(write);
      },
    }).catch(async (error: unknown) => {
      // A failed write aborts the transaction, and every statement after it fails for that
      // reason only: report the write's own failure.
      const failed = (await Promise.allSettled(sent)).find((r) => r.status === "rejected");
      throw failed ? failed.reason : error;
    });
    await Promise.all(sent);
    // A few audit events travel with COMMIT where the driver allows (see commitMayFollowPending
    // and appendsInOneStatement): if appending fails, COMMIT rolls the whole unit back, and
    // awaiting it below reports why. Otherwise COMMIT waits for the append.
    appended = appendAudit(tx, entries);
    if (commitMayFollowPending(tx) && appendsInOneStatement(entries)) appended.catch(() => {});
    else await appended;
    return value;
  });
  await appended;
  for (const event of events) deps.events.publish(event);
  return result;
}

/** The audit fields every event about an activation carries. */
export function activationAudit(a: Activation, who: Pick<Principal, "key">, role: Pick<Role, "key">) {
  return {
    subject: who.key,
    role: role.key,
    scope: a.scope,
    requestId: a.requestId,
    activationId: a.id,
    justification: a.justification,
    ticket: a.ticket,
  };
}

/** Saves a transition and appends its audit event: the two always travel together. */
export async function recordTransition(
  work: Work,
  stored: StoredActivation,
  next: Activation,
  names: { actor: string; subject: Pick<Principal, "key">; role: Pick<Role, "key"> },
  extra: {
    decision?: string;
    approver?: string;
    data?: Record<string, unknown>;
    evidence?: Record<string, unknown>;
  } = {},
): Promise<StoredActivation> {
  work.send(saveActivation(work.tx, next, stored.version, extra.evidence));
  work.audit({
    event: `activation.${next.status}`,
    actor: names.actor,
    ...activationAudit(next, names.subject, names.role),
    decision: extra.decision ?? null,
    approver: extra.approver ?? null,
    data: { from: stored.status, ...("reason" in next ? { reason: next.reason } : {}), ...extra.data },
  });
  work.emit({ type: "request.changed", requestId: next.requestId });
  return { ...next, version: stored.version + 1, origin: stored.origin, basis: stored.basis } as StoredActivation;
}
