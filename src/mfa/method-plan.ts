import type { MfaMethod } from "../domain/policy.js";
import type { TokenPurpose } from "./tokens.js";

export type Offer = { method: "totp" | "passkey"; action: "verify" | "enroll" } | { method: "oidc"; action: "verify" };

export interface MethodPlanInput {
  purpose: TokenPurpose;
  /** The methods the roles' policy accepts (every method for an enrollment link). */
  allowed: MfaMethod[];
  /** What this server can do: TOTP needs PIM_ENCRYPTION_KEY, OIDC needs an IdP. */
  serverHas: { totp: boolean; oidc: boolean };
  /** Factors that count now (a first factor set up without proof counts only after the delay). */
  enrolled: { totp: boolean; passkey: boolean };
  /** An enrollment link whose holder already confirmed an existing factor or signed in at the IdP. */
  proven: boolean;
  /** When a factor set up without proof starts to count, if one waits. */
  pendingUntil?: Date | null;
  /** MFA_ENROLLMENT_DELAY, for saying how long a new first factor waits. */
  delayText?: string;
}

export interface MethodPlan {
  offers: Offer[];
  notes: string[];
  /** Enrollments here count only after the delay (no proof, no invitation, no IdP). */
  delayed: boolean;
}

const NAMES: Record<"totp" | "passkey", string> = { totp: "an authenticator app code", passkey: "a passkey" };
const TOTP_OFF = "Authenticator app codes are turned off on this server (PIM_ENCRYPTION_KEY is not set).";

/**
 * Which ways of confirming a page offers. Step-up links (activation, approval) offer only factors
 * that already count: whoever holds a chat session must never pass a step-up by setting one up.
 * A factor is added on an enrollment link, and only after proof: an existing factor, a sign-in
 * at the organisation's IdP, or an administrator's invitation. Where there is none of these, a
 * first factor may be set up, but it counts only after MFA_ENROLLMENT_DELAY, and people are told.
 */
export function planMethods(input: MethodPlanInput): MethodPlan {
  if (input.purpose === "enroll" || input.purpose === "invite") return enrollmentPlan(input);
  const { allowed, serverHas, enrolled } = input;
  const offers: Offer[] = [];
  const notes: string[] = [];
  if (allowed.includes("totp") && serverHas.totp && enrolled.totp) offers.push({ method: "totp", action: "verify" });
  if (allowed.includes("passkey") && enrolled.passkey) offers.push({ method: "passkey", action: "verify" });
  if (allowed.includes("oidc") && serverHas.oidc) offers.push({ method: "oidc", action: "verify" });
  if (offers.length > 0) return { offers, notes, delayed: false };

  // Nothing to offer: say why, as precisely as we can.
  if (allowed.length === 0) notes.push("No MFA method is allowed here; ask an administrator to check the policy.");
  if (allowed.includes("totp") && !serverHas.totp) notes.push(TOTP_OFF);
  if (allowed.includes("oidc") && !serverHas.oidc)
    notes.push("Sign-in through your organisation's identity provider is not configured on this server.");
  if (input.pendingUntil)
    notes.push(`Your new way to confirm it's you counts from ${clock(input.pendingUntil)}; open this link again then.`);
  const settable = allowed.filter((m): m is "totp" | "passkey" => m === "passkey" || (m === "totp" && serverHas.totp));
  if (settable.length > 0 && !input.pendingUntil) {
    const wanted = settable.map((m) => NAMES[m]).join(" or ");
    notes.push(
      `This needs ${wanted}, which you have not set up. Type /elevate mfa setup in chat, then ask for a new link.`,
    );
  }
  return { offers, notes, delayed: false };
}

function enrollmentPlan(input: MethodPlanInput): MethodPlan {
  const { serverHas, enrolled } = input;
  const hasFactor = enrolled.totp || enrolled.passkey;
  const notes: string[] = [];
  const offers: Offer[] = [];
  const invited = input.purpose === "invite";
  if (!invited && !input.proven && hasFactor) {
    if (enrolled.totp && serverHas.totp) offers.push({ method: "totp", action: "verify" });
    if (enrolled.passkey) offers.push({ method: "passkey", action: "verify" });
    if (serverHas.oidc) offers.push({ method: "oidc", action: "verify" });
    notes.push("You already have a way to confirm it's you. Use it first; then you can add, replace or remove one.");
    return { offers, notes, delayed: false };
  }
  if (!invited && !input.proven && serverHas.oidc) {
    offers.push({ method: "oidc", action: "verify" });
    notes.push("First sign in with your organisation's account; then set up a way to confirm it's you.");
    return { offers, notes, delayed: false };
  }
  const delayed = !invited && !input.proven;
  if (serverHas.totp) offers.push({ method: "totp", action: "enroll" });
  else notes.push(TOTP_OFF);
  offers.push({ method: "passkey", action: "enroll" });
  if (delayed)
    notes.push(
      `What you set up here counts ${input.delayText ? `after ${input.delayText}` : "after a delay"}, and you and the PIM administrators are told: this server has no identity provider to prove it's you, and you have no invitation. For one that counts at once, ask an administrator for an invitation.`,
    );
  return { offers, notes, delayed };
}

function clock(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
