import { decide } from "../app/activation/decide.js";
import { type MfaEvidence, satisfyMfa } from "../app/activation/satisfy-mfa.js";
import { completeAssignmentStepUp } from "../app/admin/assignments.js";
import { inTransaction, type Work } from "../app/kernel/unit-of-work.js";
import type { Tx } from "../db/client.js";
import type { StoredActivation } from "../db/repos/activations.js";
import { type Principal, principalById, rolesByIds } from "../db/repos/directory.js";
import { formatDuration } from "../domain/duration.js";
import type { EnrolledVia } from "./factors.js";
import { countFailure, standingOf } from "./lockout.js";
import type { Offer } from "./method-plan.js";
import { loadPage, type Notice, planFor, type StepUpPage, usableFactors, whatItWaitsFor } from "./page-state.js";
import type { MfaParts } from "./parts.js";
import {
  consumeToken,
  csrfMatches,
  findToken,
  markProven,
  type StepUpToken,
  type TokenCheck,
  type TokenProblem,
  tokenById,
} from "./tokens.js";

/** What a page request ends in: the page again (with a notice), a message page, or a redirect. */
export type Outcome =
  | { kind: "page"; status: number; page: StepUpPage }
  | { kind: "message"; status: number; tone: Notice["tone"]; title: string; text: string }
  | { kind: "redirect"; location: string; cookies?: string[] };

export type Verdict = { ok: true; evidence: MfaEvidence } | { ok: false; message: string; counts: boolean };

/** For an enrollment: from when the new factor counts, and what allowed it. */
export interface Enrollment {
  at: Date;
  via: EnrolledVia;
}

export interface Check {
  offer: Offer;
  run(tx: Tx, token: StepUpToken, person: Principal, now: Date, enrollment: Enrollment): Promise<Verdict>;
}

/**
 * How the token is reached: a link posting a form (with its CSRF token), a plain navigation
 * (starting an IdP sign-in, which changes nothing yet), or an IdP callback whose state proved it.
 */
export type Gate =
  | { by: "form"; raw: string; csrf: unknown }
  | { by: "navigation"; raw: string }
  | { by: "oidc"; tokenId: string };

export type Opened = { ok: true; token: StepUpToken; person: Principal } | { ok: false; outcome: Outcome };

/**
 * Locks the token and checks that it, the CSRF token, the person's standing (lockout, backoff)
 * and the chosen way of confirming are all good. Refusals of forged posts are audited.
 */
export async function openGate(parts: MfaParts, work: Work, gate: Gate, offer: Offer): Promise<Opened> {
  const found: TokenCheck =
    gate.by === "oidc"
      ? await tokenById(work.tx, gate.tokenId, work.now)
      : await findToken(work.tx, gate.raw, work.now, true);
  if (!found.ok) return { ok: false, outcome: problemOutcome(found.problem, parts) };
  const { token } = found;
  const person = (await principalById(work.tx, token.principalId))!;
  if (gate.by === "form" && !csrfMatches(token, gate.csrf)) {
    auditRefusal(work, person, token, "CSRF", { step: `${offer.method}/${offer.action}` });
    return { ok: false, outcome: CSRF_REFUSED };
  }
  const standing = await standingOf(work.tx, token.principalId, work.now, parts.guard);
  if (standing.state === "locked") return { ok: false, outcome: problemOutcome("locked", parts) };
  if (standing.state === "backoff") return { ok: false, outcome: backoffOutcome(standing.retryAt, work.now) };
  const waiting = await whatItWaitsFor(work.tx, token, work.now);
  if (!waiting.ok) return { ok: false, outcome: message(409, "info", "Nothing left to confirm", waiting.message) };
  const plan = await planFor(parts, work.tx, token, waiting.allowed, work.now);
  if (!plan.offers.some((o) => o.method === offer.method && o.action === offer.action)) {
    auditRefusal(work, person, token, "NOT_OFFERED", { step: `${offer.method}/${offer.action}` });
    return {
      ok: false,
      outcome: message(400, "error", "Not available here", "That way of confirming is not offered for this link."),
    };
  }
  return { ok: true, token, person };
}

/** A refused post on the MFA pages, in the audit log with its code (CSRF, ORIGIN, NOT_OFFERED…). */
export function auditRefusal(
  work: Work,
  person: Principal | null,
  token: StepUpToken | null,
  code: string,
  data: Record<string, unknown> = {},
): void {
  work.audit({
    event: "mfa.refused",
    actor: person?.key ?? "unknown",
    subject: person?.key ?? null,
    requestId: token?.requestId ?? null,
    activationId: token?.activationId ?? null,
    data: { code, purpose: token?.purpose ?? null, ...data },
  });
}

function backoffOutcome(retryAt: Date, now: Date): Outcome {
  const seconds = Math.max(1, Math.ceil((retryAt.getTime() - now.getTime()) / 1000));
  return message(
    429,
    "error",
    "Wait a moment",
    `After several wrong tries, the next one is possible in ${seconds} second${seconds === 1 ? "" : "s"}. Then go back and try again.`,
  );
}

/** What allows an enrollment on this token, and so when the new factor counts. */
async function enrollmentFor(parts: MfaParts, work: Work, token: StepUpToken): Promise<Enrollment> {
  if (token.purpose === "invite") return { at: work.now, via: "invitation" };
  if (token.provenAt) {
    const usable = await usableFactors(parts, work.tx, token.principalId, work.now);
    return { at: work.now, via: usable.totp || usable.passkey ? "factor" : "oidc" };
  }
  return { at: new Date(work.now.getTime() + parts.enrollment.delayMs), via: "delay" };
}

export type Attempted =
  | { kind: "blocked"; outcome: Outcome }
  | { kind: "failed"; message: string; locked: boolean }
  | { kind: "passed"; token: StepUpToken; evidence: MfaEvidence; consumed: boolean; enrollment: Enrollment };

/**
 * A factor was added, replaced or removed: audited, and raised as an alert event, which posts it
 * to the alert channel and tells the person (and, for a first factor that waits out its delay,
 * the administrators).
 */
export function factorChanged(
  work: Work,
  person: Principal,
  change: { change: "added" | "replaced" | "removed"; method: string; via?: EnrolledVia; usableAt?: Date; by?: string },
): void {
  const data = {
    method: change.method,
    ...(change.via ? { via: change.via } : {}),
    ...(change.usableAt ? { usableAt: change.usableAt.toISOString() } : {}),
    ...(change.by ? { by: change.by } : {}),
  };
  work.audit({ event: `mfa.factor_${change.change}`, actor: change.by ?? person.key, subject: person.key, data });
  work.emit({
    type: "alert",
    kind: "mfa_factor_changed",
    subject: person.key,
    detail: { principalId: person.id, change: change.change, ...data },
  });
}

/**
 * One try at a factor, in one transaction with the token row locked: the token is checked, the
 * factor is checked, and then either the token is used up or a failure is counted (the fifth
 * locks it and raises an alert). What the engine does with a pass happens after, in `settle`.
 */
export async function attempt(parts: MfaParts, gate: Gate, check: Check): Promise<Attempted> {
  return inTransaction(parts.deps, async (work) => {
    const opened = await openGate(parts, work, gate, check.offer);
    if (!opened.ok) return { kind: "blocked", outcome: opened.outcome };
    const { token, person } = opened;
    const enrollment = await enrollmentFor(parts, work, token);
    const verdict = await check.run(work.tx, token, person, work.now, enrollment);
    if (!verdict.ok) return recordFailure(parts, work, token, person, check.offer.method, verdict);

    const proofOnly = token.purpose === "enroll" && check.offer.action === "verify";
    if (proofOnly) await markProven(work.tx, token.id, work.now);
    else if (!(await consumeToken(work.tx, token.id, work.now)))
      return { kind: "blocked", outcome: problemOutcome("used", parts) };
    const about = {
      actor: person.key,
      subject: person.key,
      requestId: token.requestId,
      activationId: token.activationId,
    };
    if (check.offer.action === "enroll") {
      const change = verdict.evidence.replaced ? "replaced" : "added";
      factorChanged(work, person, { change, method: check.offer.method, via: enrollment.via, usableAt: enrollment.at });
    } else work.audit({ event: "mfa.passed", ...about, data: { ...verdict.evidence, purpose: token.purpose } });
    return { kind: "passed", token, evidence: verdict.evidence, consumed: !proofOnly, enrollment };
  });
}

async function recordFailure(
  parts: MfaParts,
  work: Work,
  token: StepUpToken,
  person: Principal,
  method: string,
  verdict: { message: string; counts: boolean },
): Promise<Attempted> {
  if (!verdict.counts) return { kind: "failed", message: verdict.message, locked: false };
  // Counted per person over all their links: a new link is no fresh set of guesses.
  const { failures, locked } = await countFailure(work.tx, person.id, method, work.now, parts.guard);
  const about = {
    actor: person.key,
    subject: person.key,
    requestId: token.requestId,
    activationId: token.activationId,
  };
  work.audit({ event: "mfa.failed", ...about, data: { method, purpose: token.purpose, failures } });
  if (locked) {
    const until = locked.until.toISOString();
    work.audit({
      event: "mfa.locked",
      ...about,
      data: { purpose: token.purpose, failures, until, lockoutId: locked.id },
    });
    work.emit({
      type: "alert",
      kind: "mfa_locked",
      subject: person.key,
      detail: { principalId: person.id, purpose: token.purpose, requestId: token.requestId, failures, until },
    });
    return { kind: "failed", message: verdict.message, locked: true };
  }
  const left = parts.guard.maxFailures - failures;
  return { kind: "failed", message: `${verdict.message} ${left} ${left === 1 ? "try" : "tries"} left.`, locked: false };
}

/** Turns an attempt into what the person sees; a pass is handed to the engine here. */
export async function settle(parts: MfaParts, raw: string | null, attempted: Attempted): Promise<Outcome> {
  switch (attempted.kind) {
    case "blocked":
      return attempted.outcome;
    case "failed":
      if (attempted.locked) return problemOutcome("locked", parts);
      return raw
        ? reloadPage(parts, raw, { tone: "error", text: attempted.message }, 422)
        : message(422, "error", "Not confirmed", `${attempted.message} Open the link from chat again to retry.`);
    case "passed":
      return applyPass(parts, raw, attempted);
    default: {
      const never: never = attempted;
      return never;
    }
  }
}

async function applyPass(
  parts: MfaParts,
  raw: string | null,
  passed: Extract<Attempted, { kind: "passed" }>,
): Promise<Outcome> {
  const { token, evidence, consumed, enrollment } = passed;
  if (token.purpose === "enroll" || token.purpose === "invite") {
    if (consumed && enrollment.via === "delay")
      return message(
        200,
        "ok",
        "Set up, counting later",
        `${methodName(evidence.method)} counts for step-ups from ${clock(enrollment.at)}. You and the PIM administrators have been told.`,
      );
    if (consumed)
      return message(200, "ok", "You're set up", `${methodName(evidence.method)} is ready for your next step-up.`);
    const text = "Confirmed. Now add, replace or remove a way to confirm it's you.";
    return raw
      ? reloadPage(parts, raw, { tone: "ok", text }, 200)
      : message(200, "ok", "Confirmed", `${text} Open your setup link from chat again to continue.`);
  }
  if (token.purpose === "assignment") {
    const result = await completeAssignmentStepUp(parts.deps, token.requestId!, token.principalId, evidence);
    if (!result.ok) return message(409, "error", "Confirmed, but the assignment was not made", result.error.message);
    const a = result.value;
    const until = a.endsAt ? `until ${clock(a.endsAt)}` : "permanently";
    const later = a.startsAt && a.startsAt > parts.deps.clock.now();
    const granted = later ? `It is granted on its target from ${clock(a.startsAt!)}.` : "It is being granted now.";
    return message(
      200,
      "ok",
      "Assigned",
      `${a.principalKey} is now active for ${a.roleKey} at ${a.scope}, ${until}. ${granted}`,
    );
  }
  if (token.purpose === "activation") {
    const result = await satisfyMfa(parts.deps, token.activationId!, token.principalId, evidence);
    if (!result.ok) return message(409, "error", "Confirmed, but the request did not move on", result.error.message);
    return message(200, "ok", "Confirmed — thank you", await describeProgress(parts, result.value));
  }
  const result = await decide(parts.deps, {
    requestId: token.requestId!,
    approverId: token.principalId,
    decision: "approve",
    comment: token.comment,
    stepUp: evidence,
  });
  if (!result.ok) return message(409, "error", "Confirmed, but your approval did not count", result.error.message);
  const text = result.value.decided
    ? `Your approval counts: ${await describeProgress(parts, result.value.activations)}`
    : "Your approval counts. The request still waits for other approvers.";
  return message(200, "ok", "Approved", text);
}

async function describeProgress(parts: MfaParts, after: StoredActivation[]): Promise<string> {
  const roles = await rolesByIds(
    parts.deps.db,
    after.map((a) => a.roleId),
  );
  const lines = after.map((a) => {
    const name = roles.get(a.roleId)?.name ?? a.roleId;
    const next =
      a.status === "pending_approval"
        ? "now waits for approval"
        : `is being granted for ${formatDuration(a.durationMs)}`;
    return `${name} at ${a.scope} ${next}.`;
  });
  return lines.length > 0 ? lines.join(" ") : "Nothing was waiting any more.";
}

export async function reloadPage(
  parts: MfaParts,
  raw: string,
  notice: Notice | null,
  status: number,
): Promise<Outcome> {
  const loaded = await inTransaction(parts.deps, (work) => loadPage(parts, work.tx, raw, work.now, notice));
  if (loaded.ok) return { kind: "page", status, page: loaded.page };
  if (loaded.problem === "not_waiting") return message(409, "info", "Nothing left to confirm", loaded.message);
  return problemOutcome(loaded.problem, parts);
}

export function message(status: number, tone: Notice["tone"], title: string, text: string): Outcome {
  return { kind: "message", status, tone, title, text };
}

export const CSRF_REFUSED = message(
  403,
  "error",
  "This form is no longer valid",
  "The page was changed or is out of date. Open the link from chat again and retry.",
);

function clock(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function problemOutcome(problem: TokenProblem, parts: Pick<MfaParts, "linkTtlMs">): Outcome {
  switch (problem) {
    case "unknown":
      return message(
        404,
        "error",
        "This link is not valid",
        "Check that you opened the whole link from chat, or ask for a new one there.",
      );
    case "used":
      return message(
        410,
        "info",
        "This link has already been used",
        "Each step-up link works once. If you still need to confirm, ask for a new link in chat.",
      );
    case "expired":
      return message(
        410,
        "info",
        "This link has expired",
        `Links work for ${formatDuration(parts.linkTtlMs)}, and only the newest one does. Ask for a new link in chat.`,
      );
    case "locked":
      return message(
        403,
        "error",
        "Locked after too many failed attempts",
        "Your step-up is locked after too many failed attempts, and your security team has been told. It unlocks by itself later, or a PIM administrator can unlock it sooner.",
      );
    default: {
      const never: never = problem;
      return never;
    }
  }
}

export function methodName(method: MfaEvidence["method"]): string {
  return method === "totp"
    ? "Your authenticator app"
    : method === "passkey"
      ? "Your passkey"
      : "Your organisation sign-in";
}
