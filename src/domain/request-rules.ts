import { DAY, formatDuration, MINUTE } from "./duration.js";
import { evaluateEligibility, type HeldAssignment } from "./eligibility.js";
import type { Policy } from "./policy.js";
import { type Refusal, refuse } from "./refusal.js";
import { err, ok, type Result } from "./result.js";
import { isValidScope, scopeCovers } from "./scope.js";

export const MIN_ACTIVATION_MS = 5 * MINUTE;
export const MAX_JUSTIFICATION_LENGTH = 2000;
export const MAX_TICKET_LENGTH = 100;
/** How far ahead a start may be scheduled (Entra bounds it by the assignment alone; a month keeps plans reviewable). */
export const MAX_SCHEDULE_AHEAD_MS = 30 * DAY;
/** A start this little in the past is "now": the form was filled in a moment ago. */
const START_GRACE_MS = MINUTE;

export interface RoleFacts {
  id: string;
  name: string;
  scopes: string[];
  policy: Policy;
}

export interface RoleRequest {
  role: RoleFacts;
  scope: string;
  durationMs: number;
  justification: string | null;
  ticket: string | null;
  /** A scheduled start; null or absent: now. */
  startsAt?: Date | null;
}

export interface RequesterFacts {
  breakGlass: boolean;
  held: HeldAssignment[];
  /** Roles and scopes this user already has open activations for. */
  open: { roleId: string; scope: string; status: string }[];
}

export interface RequestPlan {
  basis: "eligible" | "break_glass";
  mfaRequired: boolean;
  approvalRequired: boolean;
  approvalsNeeded: number;
  approvalTimeoutMs: number;
}

/**
 * Checks one role of a request against its own policy. Break-glass accounts skip eligibility,
 * MFA and approval, but every other rule (duration, justification) still applies to them.
 */
export function planRoleRequest(req: RoleRequest, who: RequesterFacts, now: Date): Result<RequestPlan, Refusal> {
  const { role, scope } = req;
  const activation = role.policy.activation;
  if (!isValidScope(scope))
    return err(refuse("SCOPE_NOT_ALLOWED", `"${scope.slice(0, 80)}" is not a scope: write a path such as /mg/prod.`));
  if (!role.scopes.some((allowed) => scopeCovers(allowed, scope))) {
    return err(
      refuse(
        "SCOPE_NOT_ALLOWED",
        `${role.name} cannot be activated at ${scope}; it applies at ${role.scopes.join(", ")}.`,
      ),
    );
  }
  const declared = role.scopes.includes(scope) || who.held.some((h) => h.roleId === role.id && h.scope === scope);
  if (!declared && !activation.allowChildScope)
    return err(
      refuse(
        "SCOPE_NOT_ALLOWED",
        `${role.name} is activated at the scope you are eligible at, not below it; ${scope} is narrower.`,
      ),
    );
  const start = checkStart(req.startsAt ?? null, now);
  if (!start.ok) return start;
  // Eligibility and the time left in it are judged at the start: a start can be planned inside the assignment's window.
  const from = req.startsAt && req.startsAt > now ? req.startsAt : now;
  const duplicate = who.open.find((o) => o.roleId === role.id && scopeCovers(o.scope, scope));
  if (duplicate) {
    return duplicate.status === "active" || duplicate.status === "activating"
      ? err(refuse("ALREADY_ACTIVE", `You already have ${role.name} active at ${duplicate.scope}; extend it instead.`))
      : err(refuse("ALREADY_PENDING", `You already have a pending request for ${role.name} at ${duplicate.scope}.`));
  }

  let eligibleUntil: Date | null = null;
  if (!who.breakGlass) {
    const verdict = evaluateEligibility(who.held, role.id, scope, from);
    switch (verdict.kind) {
      case "eligible":
        eligibleUntil = verdict.assignment.endsAt;
        break;
      case "already_active":
        return err(
          refuse(
            "ALREADY_ACTIVE",
            `You hold ${role.name} at ${verdict.assignment.scope} as an active assignment; there is nothing to activate.`,
          ),
        );
      case "not_started":
        return err(
          refuse(
            "ELIGIBILITY_NOT_STARTED",
            `Your eligibility for ${role.name} starts at ${verdict.startsAt.toISOString()}.`,
          ),
        );
      case "expired":
        return err(
          refuse("ELIGIBILITY_EXPIRED", `Your eligibility for ${role.name} ended at ${verdict.endedAt.toISOString()}.`),
        );
      case "none":
        return err(refuse("NOT_ELIGIBLE", `You are not eligible for ${role.name} at ${scope}.`));
      default: {
        const never: never = verdict;
        return never;
      }
    }
  }

  const duration = checkDuration(req.durationMs, activation.maxDurationMs, role.name, eligibleUntil, from);
  if (!duration.ok) return duration;
  const text = checkTexts(req, role.policy);
  if (!text.ok) return text;

  if (who.breakGlass) {
    return ok({
      basis: "break_glass",
      mfaRequired: false,
      approvalRequired: false,
      approvalsNeeded: 0,
      approvalTimeoutMs: activation.approvalTimeoutMs,
    });
  }
  return ok({
    basis: "eligible",
    mfaRequired: activation.requireMfa,
    approvalRequired: activation.requireApproval,
    approvalsNeeded: activation.requireApproval ? activation.approvalsNeeded : 0,
    approvalTimeoutMs: activation.approvalTimeoutMs,
  });
}

/** A scheduled start must be a real time, not in the past, and at most a month ahead. */
export function checkStart(startsAt: Date | null, now: Date): Result<void, Refusal> {
  if (startsAt === null) return ok(undefined);
  if (Number.isNaN(startsAt.getTime())) return err(refuse("START_INVALID", "The start is not a time I can read."));
  if (startsAt.getTime() < now.getTime() - START_GRACE_MS)
    return err(refuse("START_IN_PAST", `The start ${startsAt.toISOString()} has passed; leave it empty to start now.`));
  if (startsAt.getTime() > now.getTime() + MAX_SCHEDULE_AHEAD_MS)
    return err(
      refuse("START_TOO_FAR", `A start can be scheduled at most ${formatDuration(MAX_SCHEDULE_AHEAD_MS)} ahead.`),
    );
  return ok(undefined);
}

export function checkDuration(
  durationMs: number,
  maxMs: number,
  roleName: string,
  eligibleUntil: Date | null,
  now: Date,
): Result<void, Refusal> {
  if (!Number.isFinite(durationMs) || durationMs < MIN_ACTIVATION_MS) {
    return err(refuse("DURATION_INVALID", `Duration must be at least ${formatDuration(MIN_ACTIVATION_MS)}.`));
  }
  if (durationMs > maxMs) {
    return err(
      refuse(
        "DURATION_OVER_MAX",
        `${roleName} can be active for at most ${formatDuration(maxMs)}; you asked for ${formatDuration(durationMs)}.`,
      ),
    );
  }
  if (eligibleUntil && now.getTime() + durationMs > eligibleUntil.getTime()) {
    return err(
      refuse(
        "DURATION_PAST_ELIGIBILITY",
        `Your eligibility for ${roleName} ends at ${eligibleUntil.toISOString()}; ask for at most ${formatDuration(eligibleUntil.getTime() - now.getTime())}.`,
      ),
    );
  }
  return ok(undefined);
}

/** The whole ticket must match, not some part of it: `INC-\d{6}` refuses "none, see INC-123456 later". */
export function matchesWhole(pattern: string, text: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(text);
}

export function checkTexts(
  req: Pick<RoleRequest, "justification" | "ticket" | "role">,
  policy: Policy,
): Result<void, Refusal> {
  const { justification, ticket } = req;
  const activation = policy.activation;
  if (activation.requireJustification && !justification?.trim()) {
    return err(refuse("JUSTIFICATION_REQUIRED", `${req.role.name} requires a justification: say why you need it.`));
  }
  if (justification && justification.length > MAX_JUSTIFICATION_LENGTH) {
    return err(
      refuse("JUSTIFICATION_TOO_LONG", `Justification must be at most ${MAX_JUSTIFICATION_LENGTH} characters.`),
    );
  }
  // PostgreSQL text cannot hold U+0000: refused here, next to the field, rather than as a failed write.
  if (justification?.includes("\u0000")) {
    return err(
      refuse(
        "JUSTIFICATION_INVALID",
        "The justification contains a NUL character (U+0000), which cannot be kept: remove it.",
      ),
    );
  }
  const t = ticket?.trim() ?? "";
  if (t.includes("\u0000")) {
    return err(
      refuse("TICKET_INVALID", "The ticket contains a NUL character (U+0000), which cannot be kept: remove it."),
    );
  }
  if (activation.requireTicket && t === "") {
    return err(refuse("TICKET_REQUIRED", `${req.role.name} requires a ticket number.`));
  }
  if (
    t !== "" &&
    (t.length > MAX_TICKET_LENGTH || (activation.ticketPattern && !matchesWhole(activation.ticketPattern, t)))
  ) {
    const example = activation.ticketExample
      ? ` like ${activation.ticketExample}`
      : ` to match ${activation.ticketPattern}`;
    return err(refuse("TICKET_INVALID", `Ticket must look${example}.`));
  }
  return ok(undefined);
}
