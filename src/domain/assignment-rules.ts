/**
 * Administration as pure rules: who may administer, what an assignment made by an administrator
 * must satisfy under its role's assignment settings, and the windows of an assignment's life
 * (reminders before its end, extension before it, renewal after it), as in Entra PIM.
 */
import { DAY, formatDuration } from "./duration.js";
import type { AssignmentSettings } from "./policy.js";
import { type Refusal, refuse } from "./refusal.js";
import { err, ok, type Result } from "./result.js";

export type AssignmentKind = "eligible" | "active";

/** Reminders go out this long before an assignment ends (Entra: 14 days and 1 day). */
export const REMINDER_LEADS_MS = [14 * DAY, DAY] as const;
/** An extension may be asked for from this long before the end (Entra: 14 days). */
export const EXTEND_WINDOW_MS = 14 * DAY;
/** A renewal may be asked for up to this long after the end (Entra: 30 days). */
export const RENEW_WINDOW_MS = 30 * DAY;
/** Justifications and reasons are sentences, not documents. */
export const MAX_REASON_LENGTH = 500;

// ── who administers ───────────────────────────────────────────────────────────────────────────

export interface AdministratorFacts {
  /** `admin: true` in pim.yaml. */
  admin: boolean;
  retired: boolean;
  /** The administrator role named in `administration.role`, if any. */
  adminRole: { key: string; name: string } | null;
  /** Whether the person holds that role active right now (an activation or an active assignment). */
  holdsAdminRoleActive: boolean;
  /** Whether they could activate it (eligible now), to say so in the refusal. */
  eligibleForAdminRole: boolean;
}

export type AdministratorBasis = "admin" | "role";

/**
 * Administrators are the `admin: true` users and, when the file names an administrator role, the
 * people who hold that role *active* now: eligible is not enough, as with Entra's Privileged Role
 * Administrator, so administration is just-in-time too.
 */
export function administratorBasis(f: AdministratorFacts): Result<AdministratorBasis, Refusal> {
  if (f.retired) return err(refuse("NOT_ADMINISTRATOR", "You are no longer in the policy file."));
  if (f.admin) return ok("admin");
  if (f.adminRole && f.holdsAdminRoleActive) return ok("role");
  if (f.adminRole && f.eligibleForAdminRole)
    return err(
      refuse(
        "ADMIN_ROLE_NOT_ACTIVE",
        `Administering pim-bot needs ${f.adminRole.name} active: activate it first, then try again.`,
      ),
    );
  return err(refuse("NOT_ADMINISTRATOR", "Only pim-bot administrators can do this."));
}

/** Nobody changes their own assignments, even through a group they belong to. */
export function checkNotOwnAssignment(
  actorId: string,
  target: { principalId: string; memberIds: ReadonlySet<string> },
): Result<void, Refusal> {
  if (target.principalId === actorId)
    return err(refuse("SELF_ASSIGNMENT", "You cannot change your own assignments; ask another administrator."));
  if (target.memberIds.has(actorId))
    return err(
      refuse(
        "SELF_ASSIGNMENT",
        "You are a member of this group, so this would change your own access; ask another administrator.",
      ),
    );
  return ok(undefined);
}

// ── an assignment against its role's rules ────────────────────────────────────────────────────

export interface AssignmentProposal {
  kind: AssignmentKind;
  /** null: from now. */
  startsAt: Date | null;
  /** null: permanent. */
  endsAt: Date | null;
  justification: string | null;
}

export interface AssignmentVerdict {
  /** The assignment takes effect only once the administrator passed an MFA step-up. */
  needsStepUp: boolean;
}

/**
 * Checks an assignment against the role's assignment settings: permanent allowed, maximum
 * duration (counted from its start, or from now), justification on active, and whether an
 * active assignment must wait for the administrator's MFA step-up.
 */
export function checkAssignment(
  rules: AssignmentSettings,
  roleName: string,
  p: AssignmentProposal,
  now: Date,
): Result<AssignmentVerdict, Refusal> {
  const active = p.kind === "active";
  const start = p.startsAt ?? now;
  if (p.endsAt !== null && p.endsAt <= start)
    return err(refuse("ASSIGNMENT_INVALID", "The end must be after the start."));
  if (p.endsAt !== null && p.endsAt <= now) return err(refuse("ASSIGNMENT_INVALID", "The end must be in the future."));
  const allowPermanent = active ? rules.allowPermanentActive : rules.allowPermanentEligible;
  const maxMs = active ? rules.maxActiveDurationMs : rules.maxEligibleDurationMs;
  if (p.endsAt === null && !allowPermanent)
    return err(
      refuse(
        "PERMANENT_NOT_ALLOWED",
        `${roleName} does not allow permanent ${p.kind} assignments; give an end at most ${formatDuration(maxMs)} after the start.`,
      ),
    );
  if (p.endsAt !== null && p.endsAt.getTime() - start.getTime() > maxMs)
    return err(
      refuse(
        "ASSIGNMENT_TOO_LONG",
        `${roleName} allows ${p.kind} assignments of at most ${formatDuration(maxMs)}; this one would last ${formatDuration(p.endsAt.getTime() - start.getTime())}.`,
      ),
    );
  const justification = p.justification?.trim() ?? "";
  if (justification.length > MAX_REASON_LENGTH)
    return err(refuse("JUSTIFICATION_TOO_LONG", `The justification is limited to ${MAX_REASON_LENGTH} characters.`));
  if (active && rules.requireJustificationOnActive && justification === "")
    return err(refuse("JUSTIFICATION_REQUIRED", `${roleName} requires a justification for active assignments.`));
  return ok({ needsStepUp: active && rules.requireMfaOnActive });
}

/**
 * A new end for an existing assignment (a change, an extension or a renewal): the same rules,
 * counted from `start` — the assignment's own start, or now for a renewal. The reason given for
 * the change stands in for the justification.
 */
export function checkNewEnd(
  rules: AssignmentSettings,
  roleName: string,
  a: { kind: AssignmentKind; start: Date },
  endsAt: Date | null,
  reason: string | null,
  now: Date,
): Result<AssignmentVerdict, Refusal> {
  const verdict = checkAssignment(
    rules,
    roleName,
    { kind: a.kind, startsAt: a.start, endsAt, justification: reason },
    now,
  );
  if (!verdict.ok) return verdict;
  // A new end for an assignment already in force does not make it take effect again.
  return ok({ needsStepUp: false });
}

// ── a reason someone gives ────────────────────────────────────────────────────────────────────

export function checkReason(reason: string | null | undefined, what = "A reason"): Result<string, Refusal> {
  const text = reason?.trim() ?? "";
  if (text === "") return err(refuse("REASON_REQUIRED", `${what} is required.`));
  if (text.length > MAX_REASON_LENGTH)
    return err(refuse("JUSTIFICATION_TOO_LONG", `${what} is limited to ${MAX_REASON_LENGTH} characters.`));
  return ok(text);
}

// ── the life of an assignment ────────────────────────────────────────────────────────────────

/**
 * The reminder due now for an assignment ending at `endsAt`, if any: the tightest lead whose
 * moment has come and the end has not. Each lead is sent once (the caller claims it), so a
 * missed run catches up with the nearest one only.
 */
export function reminderDue(endsAt: Date | null, now: Date): number | null {
  if (endsAt === null || endsAt <= now) return null;
  const left = endsAt.getTime() - now.getTime();
  const due = REMINDER_LEADS_MS.filter((lead) => left <= lead);
  return due.length === 0 ? null : Math.min(...due);
}

export function describeLead(leadMs: number): string {
  return leadMs >= DAY ? `${leadMs / DAY}d` : formatDuration(leadMs);
}

/** Extension: of a time-bound assignment not yet ended, from 14 days before its end. */
export function checkExtendable(a: { endsAt: Date | null }, now: Date): Result<void, Refusal> {
  if (a.endsAt === null) return err(refuse("WRONG_STATE", "This assignment is permanent; there is nothing to extend."));
  if (a.endsAt <= now)
    return err(
      refuse("WRONG_STATE", "This assignment has ended; ask to renew it instead (within 30 days of its end)."),
    );
  if (a.endsAt.getTime() - now.getTime() > EXTEND_WINDOW_MS)
    return err(
      refuse(
        "TOO_EARLY",
        `An extension can be asked for from 14 days before the end (${a.endsAt.toISOString().slice(0, 10)}).`,
      ),
    );
  return ok(undefined);
}

/** Renewal: of an assignment that ended, within 30 days after its end. */
export function checkRenewable(a: { endsAt: Date | null }, now: Date): Result<void, Refusal> {
  if (a.endsAt === null || a.endsAt > now)
    return err(refuse("WRONG_STATE", "This assignment has not ended; ask to extend it instead."));
  if (now.getTime() - a.endsAt.getTime() > RENEW_WINDOW_MS)
    return err(refuse("TOO_LATE", "This assignment ended more than 30 days ago; ask an administrator for a new one."));
  return ok(undefined);
}

/**
 * The end an extension or renewal asks for when none is given: as long again as the assignment
 * lasted, from its end (or from now, for a renewal), within the role's maximum.
 */
export function proposedEnd(
  rules: AssignmentSettings,
  a: { kind: AssignmentKind; startsAt: Date | null; createdAt: Date; endsAt: Date },
  now: Date,
): Date {
  const from = a.endsAt > now ? a.endsAt : now;
  const lasted = a.endsAt.getTime() - (a.startsAt ?? a.createdAt).getTime();
  const maxMs = a.kind === "active" ? rules.maxActiveDurationMs : rules.maxEligibleDurationMs;
  // An extension counts from the original start, so its whole span stays within the maximum.
  const start = a.endsAt > now ? (a.startsAt ?? a.createdAt) : now;
  const wanted = from.getTime() + Math.max(lasted, DAY);
  return new Date(Math.min(wanted, start.getTime() + maxMs));
}
