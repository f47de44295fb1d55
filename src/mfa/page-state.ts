import QRCode from "qrcode";
import { stepUpMethods } from "../app/activation/approver-step-up.js";
import { getRequestView, type RequestView } from "../app/activation/views.js";
import type { Executor, Tx } from "../db/client.js";
import { getAssignmentRequest } from "../db/repos/assignments.js";
import { type Principal, principalById, rolesByIds } from "../db/repos/directory.js";
import { formatDuration } from "../domain/duration.js";
import type { MfaMethod } from "../domain/policy.js";
import { type Factor, listFactors, pendingUntil } from "./factors.js";
import { standingOf } from "./lockout.js";
import { type MethodPlan, planMethods } from "./method-plan.js";
import type { MfaParts } from "./parts.js";
import { findToken, type StepUpToken, setChallenge, type TokenProblem } from "./tokens.js";

const ALL_METHODS: MfaMethod[] = ["totp", "passkey", "oidc"];

export interface Notice {
  tone: "error" | "ok" | "info";
  text: string;
}

/** Everything the step-up page shows. */
export interface StepUpPage {
  rawToken: string;
  csrf: string;
  purpose: StepUpToken["purpose"];
  person: { name: string };
  request: RequestView | null;
  /** On an assignment link: the active assignment that waits for this step-up. */
  assignment: PendingAssignmentView | null;
  plan: MethodPlan;
  totpEnrollment: { secret: string; uri: string; qrDataUrl: string } | null;
  /** WebAuthn options (JSON) for the one passkey offer, if there is one. */
  passkeyOptions: string | null;
  notice: Notice | null;
  expiresAt: Date;
  /** The person's factors, with Remove buttons: on enrollment links, once they may change them. */
  factors: Factor[] | null;
}

/** An active assignment held until its administrator's step-up, as the page shows it. */
export interface PendingAssignmentView {
  principalName: string;
  roleName: string;
  scope: string;
  startsAt: Date | null;
  endsAt: Date | null;
  justification: string | null;
}

export type Waiting =
  | { ok: true; allowed: MfaMethod[]; request: RequestView | null; assignment?: PendingAssignmentView }
  | { ok: false; message: string };

/** Whether the request behind a token still waits for this step-up, and which methods it accepts. */
export async function whatItWaitsFor(tx: Executor, token: StepUpToken, now: Date): Promise<Waiting> {
  if (token.purpose === "enroll" || token.purpose === "invite" || !token.requestId)
    return { ok: true, allowed: ALL_METHODS, request: null };
  if (token.purpose === "assignment") return assignmentWaiting(tx, token.requestId);
  const request = await getRequestView(tx, token.requestId, now);
  if (!request) return { ok: false, message: "This request no longer exists." };
  const wanted = token.purpose === "activation" ? "pending_mfa" : "pending_approval";
  const pending = request.roles.filter((r) => r.status === wanted);
  if (pending.length === 0) {
    const what = token.purpose === "activation" ? "MFA" : "approval";
    return {
      ok: false,
      message: `This request is no longer waiting for ${what}: it is ${request.roles[0]!.statusText}.`,
    };
  }
  const roles = [
    ...(
      await rolesByIds(
        tx,
        pending.map((r) => r.roleId),
      )
    ).values(),
  ];
  if (token.purpose === "approval") {
    const methods = stepUpMethods(roles);
    return {
      ok: true,
      allowed: roles.some((r) => r.policy.activation.approverStepUp) ? methods : ALL_METHODS,
      request,
    };
  }
  const allowed = ALL_METHODS.filter((m) => roles.every((r) => r.policy.activation.mfaMethods.includes(m)));
  return { ok: true, allowed, request };
}

/** An assignment link: the assignment must still wait, and the role's MFA methods apply. */
async function assignmentWaiting(tx: Executor, pendingId: string): Promise<Waiting> {
  const pending = await getAssignmentRequest(tx, pendingId);
  if (!pending) return { ok: false, message: "This assignment no longer exists." };
  if (pending.status !== "pending")
    return {
      ok: false,
      message:
        pending.status === "approved"
          ? "This assignment is already in force; there is nothing left to confirm."
          : `This assignment is no longer waiting: it was ${pending.status}${pending.comment ? ` (${pending.comment})` : ""}.`,
    };
  const [principal, roles] = await Promise.all([
    principalById(tx, pending.principalId),
    rolesByIds(tx, [pending.roleId]),
  ]);
  const role = roles.get(pending.roleId);
  return {
    ok: true,
    allowed: ALL_METHODS.filter((m) => role?.policy.activation.mfaMethods.includes(m) ?? true),
    request: null,
    assignment: {
      principalName: principal?.name ?? pending.principalId,
      roleName: role?.name ?? pending.roleId,
      scope: pending.scope,
      startsAt: pending.startsAt,
      endsAt: pending.endsAt,
      justification: pending.justification,
    },
  };
}

export async function planFor(
  parts: MfaParts,
  tx: Executor,
  token: StepUpToken,
  allowed: MfaMethod[],
  now: Date,
): Promise<MethodPlan> {
  return planMethods({
    purpose: token.purpose,
    allowed,
    serverHas: { totp: parts.totp.enabled, oidc: parts.oidc !== null },
    enrolled: await usableFactors(parts, tx, token.principalId, now),
    proven: token.provenAt !== null,
    pendingUntil: await pendingUntil(tx, token.principalId, now),
    delayText: formatDuration(parts.enrollment.delayMs),
  });
}

export async function usableFactors(parts: MfaParts, tx: Executor, principalId: string, now: Date) {
  return {
    totp: await parts.totp.isEnrolled(tx, principalId, now),
    passkey: (await parts.passkeys.credentialIds(tx, principalId, now)).length > 0,
  };
}

/**
 * On an enrollment link a person may list and remove their factors once they proved one (or
 * hold an invitation), or when none of theirs counts yet (a first factor waiting out its delay).
 */
export async function mayChangeFactors(parts: MfaParts, tx: Executor, token: StepUpToken, now: Date) {
  if (token.purpose === "invite") return true;
  if (token.purpose !== "enroll") return false;
  if (token.provenAt) return true;
  const usable = await usableFactors(parts, tx, token.principalId, now);
  return !usable.totp && !usable.passkey;
}

export type Loaded =
  | { ok: true; page: StepUpPage }
  | { ok: false; problem: TokenProblem }
  | { ok: false; problem: "not_waiting"; message: string };

export async function loadPage(
  parts: MfaParts,
  tx: Tx,
  rawToken: string,
  now: Date,
  notice: Notice | null = null,
): Promise<Loaded> {
  const found = await findToken(tx, rawToken, now);
  if (!found.ok) return { ok: false, problem: found.problem };
  const { token } = found;
  if ((await standingOf(tx, token.principalId, now, parts.guard)).state === "locked")
    return { ok: false, problem: "locked" };
  const waiting = await whatItWaitsFor(tx, token, now);
  if (!waiting.ok) return { ok: false, problem: "not_waiting", message: waiting.message };
  const person = (await principalById(tx, token.principalId))!;
  const plan = await planFor(parts, tx, token, waiting.allowed, now);
  let totpEnrollment: StepUpPage["totpEnrollment"] = null;
  if (plan.offers.some((o) => o.method === "totp" && o.action === "enroll")) {
    const pending = await parts.totp.pendingEnrollment(
      tx,
      token.id,
      { id: person.id, label: person.email ?? person.key },
      now,
    );
    totpEnrollment = { ...pending, qrDataUrl: await QRCode.toDataURL(pending.uri, { margin: 1, width: 208 }) };
  }
  const passkey = plan.offers.find((o) => o.method === "passkey");
  const passkeyOptions = passkey
    ? JSON.stringify(await passkeyOptionsFor(parts, tx, token, person, passkey.action, now))
    : null;
  const factors = (await mayChangeFactors(parts, tx, token, now)) ? await listFactors(tx, person.id) : null;
  return {
    ok: true,
    page: {
      rawToken,
      csrf: token.csrf,
      purpose: token.purpose,
      person: { name: person.name },
      request: waiting.request,
      assignment: waiting.assignment ?? null,
      plan,
      totpEnrollment,
      passkeyOptions,
      notice,
      expiresAt: token.expiresAt,
      factors,
    },
  };
}

/**
 * WebAuthn options for the page, with a fresh challenge kept on the token. They travel in the
 * page itself and the answer comes back as a form post, so the page needs no fetch at all.
 */
export async function passkeyOptionsFor(
  parts: MfaParts,
  tx: Tx,
  token: StepUpToken,
  person: Principal,
  action: "enroll" | "verify",
  now: Date,
): Promise<unknown> {
  const options =
    action === "enroll"
      ? await parts.passkeys.registrationOptions(tx, {
          id: person.id,
          label: person.email ?? person.key,
          name: person.name,
        })
      : await parts.passkeys.authenticationOptions(tx, person.id, now);
  await setChallenge(tx, token.id, options.challenge);
  return options;
}
