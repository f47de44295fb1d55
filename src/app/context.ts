import type { AuditEntry } from "../db/audit-append.js";
import type { Database, Tx } from "../db/client.js";
import { type StoredActivation, saveTransitions } from "../db/repos/activations.js";
import type { Principal, Role } from "../db/repos/directory.js";
import type { JobRow } from "../db/repos/outbox.js";
import { LocalClaims, runUnit, type UnitSettings } from "../db/unit-of-work.js";
import type { Activation } from "../domain/activation.js";
import type { AlertKind } from "../domain/notices.js";
import type { Clock } from "./ports.js";

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

export interface EngineDeps {
  db: Database;
  clock: Clock;
  events: EventSink;
  /**
   * What the process's units of work share, built in composition: the directory cache and this
   * process's outbox worker while it runs (see src/db/unit-of-work.ts). Without it a unit keeps
   * nothing across transactions and writes every job for a claim.
   */
  units?: UnitSettings;
}

/** One unit of work: a transaction, its time, its audit events and the events to publish once it commits. */
export interface Work {
  tx: Tx;
  now: Date;
  audit(entry: Omit<AuditEntry, "at"> & { at?: Date }): void;
  emit(event: EngineEvent): void;
}

const SHARING_NOTHING: UnitSettings = { claims: new LocalClaims() };

export async function inTransaction<T>(deps: EngineDeps, fn: (work: Work) => Promise<T>): Promise<T> {
  const events: EngineEvent[] = [];
  const result = await runUnit(deps.db, deps.units ?? SHARING_NOTHING, (tx, entries) => {
    const now = deps.clock.now();
    return fn({
      tx,
      now,
      audit: (entry) => entries.push({ ...entry, at: entry.at ?? now }),
      emit: (event) => events.push(event),
    });
  });
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

/** One activation's move from `before` to `after`, with who made it and what the audit event adds. */
export interface TransitionRecord {
  before: StoredActivation;
  after: Activation;
  names: { actor: string; subject: Pick<Principal, "key">; role: Pick<Role, "key"> };
  decision?: string;
  approver?: string;
  data?: Record<string, unknown>;
  evidence?: Record<string, unknown>;
}

/**
 * The one way an activation changes: saves any number of transitions in one statement, each
 * checked against the version it was decided on, with one audit event each, and tells chat which
 * requests changed. The transitions themselves are the domain's (src/domain/activation.ts).
 */
export async function recordTransitions(work: Work, records: TransitionRecord[]): Promise<StoredActivation[]> {
  if (records.length === 0) return [];
  await saveTransitions(
    work.tx,
    records.map((r) => ({ next: r.after, version: r.before.version, evidence: r.evidence })),
  );
  const requests = new Set<string>();
  for (const { before, after, names, ...extra } of records) {
    work.audit({
      event: `activation.${after.status}`,
      actor: names.actor,
      ...activationAudit(after, names.subject, names.role),
      decision: extra.decision ?? null,
      approver: extra.approver ?? null,
      data: { from: before.status, ...("reason" in after ? { reason: after.reason } : {}), ...extra.data },
    });
    requests.add(after.requestId);
  }
  for (const requestId of requests) work.emit({ type: "request.changed", requestId });
  return records.map(
    ({ before, after }) =>
      ({ ...after, version: before.version + 1, origin: before.origin, basis: before.basis }) as StoredActivation,
  );
}

/** recordTransitions for one transition. */
export async function recordTransition(
  work: Work,
  stored: StoredActivation,
  next: Activation,
  names: TransitionRecord["names"],
  extra: Pick<TransitionRecord, "decision" | "approver" | "data" | "evidence"> = {},
): Promise<StoredActivation> {
  const [saved] = await recordTransitions(work, [{ before: stored, after: next, names, ...extra }]);
  return saved!;
}
