import { type Refusal, refuse } from "./refusal.js";
import { err, ok, type Result } from "./result.js";

/**
 * The lifecycle of one role in one request:
 *
 *   requested ─► pending_mfa ─► pending_approval ─► activating ─► active ─► ending ─► ended
 *        └────────────┴───────────────┴─► denied | canceled | timed_out | failed
 */
export type ActivationStatus = Activation["status"];
export type EndReason = "expired" | "deactivated" | "revoked" | "superseded";
export type ClosedStatus = "denied" | "canceled" | "timed_out" | "failed";

export interface ActivationFacts {
  id: string;
  requestId: string;
  principalId: string;
  roleId: string;
  scope: string;
  durationMs: number;
  justification: string | null;
  ticket: string | null;
  requestedAt: Date;
  mfaRequired: boolean;
  mfaSatisfiedAt: Date | null;
  approvalRequired: boolean;
  approvalsNeeded: number;
  approvalDeadline: Date | null;
  /** The activation this one extends; when it becomes active, that one ends as superseded. */
  extendsId: string | null;
  /**
   * A scheduled start: the grant waits until then even when everything else is in place, and the
   * time asked for counts from the grant. Null: as soon as everything is in place.
   */
  startsAt: Date | null;
}

export type Activation = ActivationFacts &
  (
    | { status: "requested" }
    | { status: "pending_mfa" }
    | { status: "pending_approval" }
    | { status: "activating" }
    | { status: "active"; activatedAt: Date; endsAt: Date }
    | { status: "ending"; activatedAt: Date | null; endsAt: Date; reason: EndReason; closedBy: string }
    | { status: "ended"; activatedAt: Date | null; endsAt: Date; reason: EndReason; closedBy: string; closedAt: Date }
    | { status: ClosedStatus; reason: string; closedBy: string; closedAt: Date }
  );

export type In<S extends ActivationStatus> = Extract<Activation, { status: S }>;

export const OPEN_STATUSES = [
  "requested",
  "pending_mfa",
  "pending_approval",
  "activating",
  "active",
  "ending",
] as const;
export const PENDING_STATUSES = ["pending_mfa", "pending_approval"] as const;
/** States in which the role is held, or about to be, on the target. */
export const HOLDING_STATUSES = ["activating", "active"] as const;

export function isOpen(a: Activation): boolean {
  return (OPEN_STATUSES as readonly string[]).includes(a.status);
}

function facts(a: Activation): ActivationFacts {
  return {
    id: a.id,
    requestId: a.requestId,
    principalId: a.principalId,
    roleId: a.roleId,
    scope: a.scope,
    durationMs: a.durationMs,
    justification: a.justification,
    ticket: a.ticket,
    requestedAt: a.requestedAt,
    mfaRequired: a.mfaRequired,
    mfaSatisfiedAt: a.mfaSatisfiedAt,
    approvalRequired: a.approvalRequired,
    approvalsNeeded: a.approvalsNeeded,
    approvalDeadline: a.approvalDeadline,
    extendsId: a.extendsId,
    startsAt: a.startsAt,
  };
}

/** The next waiting state once a step is done: MFA first, then approval, then the grant. */
function nextStep(f: ActivationFacts): In<"pending_mfa" | "pending_approval" | "activating"> {
  if (f.mfaRequired && !f.mfaSatisfiedAt) return { ...f, status: "pending_mfa" };
  if (f.approvalRequired) return { ...f, status: "pending_approval" };
  return { ...f, status: "activating" };
}

export function submit(a: In<"requested">): In<"pending_mfa" | "pending_approval" | "activating"> {
  return nextStep(facts(a));
}

export function satisfyMfa(a: Activation, at: Date): Result<In<"pending_approval" | "activating">, Refusal> {
  if (a.status !== "pending_mfa") return err(wrongState(a, "complete MFA for"));
  return ok(nextStep({ ...facts(a), mfaSatisfiedAt: at }) as In<"pending_approval" | "activating">);
}

/** Counts approvals; enough of them moves the activation on to the grant. */
export function approve(a: Activation, approvalsSoFar: number): Result<In<"pending_approval" | "activating">, Refusal> {
  if (a.status !== "pending_approval") return err(wrongState(a, "approve"));
  if (approvalsSoFar >= a.approvalsNeeded) return ok({ ...facts(a), status: "activating" });
  return ok(a);
}

export function close(
  a: Activation,
  status: ClosedStatus,
  reason: string,
  by: string,
  at: Date,
): Result<In<ClosedStatus>, Refusal> {
  const from: Record<ClosedStatus, readonly ActivationStatus[]> = {
    denied: ["pending_approval"],
    canceled: ["requested", "pending_mfa", "pending_approval"],
    timed_out: ["pending_mfa", "pending_approval"],
    failed: ["requested", "pending_mfa", "pending_approval", "activating"],
  };
  if (!from[status].includes(a.status) && !(status === "canceled" && isWaitingToStart(a, at)))
    return err(wrongState(a, verbFor(status)));
  return ok({ ...facts(a), status, reason, closedBy: by, closedAt: at });
}

/** The grant is confirmed on the target: the clock starts now, so people get the time they asked for. */
/** Everything is in place, but the scheduled start has not come: nothing is on the target yet, so it can still be canceled. */
export function isWaitingToStart(a: Activation, at: Date): boolean {
  return a.status === "activating" && a.startsAt !== null && a.startsAt > at;
}

export function confirmGrant(a: Activation, at: Date): Result<In<"active">, Refusal> {
  if (a.status !== "activating") return err(wrongState(a, "confirm the grant of"));
  return ok({ ...facts(a), status: "active", activatedAt: at, endsAt: new Date(at.getTime() + a.durationMs) });
}

export function beginEnd(a: Activation, reason: EndReason, by: string, at: Date): Result<In<"ending">, Refusal> {
  if (a.status === "active")
    return ok({ ...facts(a), status: "ending", activatedAt: a.activatedAt, endsAt: a.endsAt, reason, closedBy: by });
  // Revoked before the grant was confirmed: the revoke job follows the grant job on the same key.
  if (a.status === "activating")
    return ok({ ...facts(a), status: "ending", activatedAt: null, endsAt: at, reason, closedBy: by });
  return err(wrongState(a, "end"));
}

export function confirmRevoke(a: Activation, at: Date): Result<In<"ended">, Refusal> {
  if (a.status !== "ending") return err(wrongState(a, "confirm the revoke of"));
  return ok({
    ...facts(a),
    status: "ended",
    activatedAt: a.activatedAt,
    endsAt: a.endsAt,
    reason: a.reason,
    closedBy: a.closedBy,
    closedAt: at,
  });
}

/** A new end time for an active activation (an approved extension, or a shorter one). */
export function moveEnd(a: Activation, endsAt: Date): Result<In<"active">, Refusal> {
  if (a.status !== "active") return err(wrongState(a, "change the end of"));
  return ok({ ...a, endsAt });
}

function verbFor(status: ClosedStatus): string {
  switch (status) {
    case "denied":
      return "deny";
    case "canceled":
      return "cancel";
    case "timed_out":
      return "time out";
    case "failed":
      return "fail";
    default: {
      const never: never = status;
      return never;
    }
  }
}

export function describeStatus(a: Activation): string {
  switch (a.status) {
    case "requested":
      return "requested";
    case "pending_mfa":
      return "waiting for MFA";
    case "pending_approval":
      return "waiting for approval";
    case "activating":
      return a.startsAt ? `scheduled for ${a.startsAt.toISOString()}` : "being granted";
    case "active":
      return `active until ${a.endsAt.toISOString()}`;
    case "ending":
      return "being revoked";
    case "ended":
      return `ended (${a.reason})`;
    case "denied":
      return "denied";
    case "canceled":
      return "canceled";
    case "timed_out":
      return "timed out";
    case "failed":
      return "failed";
    default: {
      const never: never = a;
      return never;
    }
  }
}

function wrongState(a: Activation, verb: string): Refusal {
  return refuse("WRONG_STATE", `Cannot ${verb} this request: it is ${describeStatus(a)}.`);
}
