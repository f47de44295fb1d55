import type { MfaMethod } from "../domain/policy.js";
import type { TokenPurpose } from "./tokens.js";

export type Offer = { method: "totp" | "passkey"; action: "verify" | "enroll" } | { method: "oidc"; action: "verify" };

export interface MethodPlanInput {
  purpose: TokenPurpose;
  /** The methods the roles' policy accepts (every method for an enrollment link). */
  allowed: MfaMethod[];
  /** What this server can do: TOTP needs PIM_ENCRYPTION_KEY, OIDC needs an IdP. */
  serverHas: { totp: boolean; oidc: boolean };
  enrolled: { totp: boolean; passkey: boolean };
  /** An enrollment link whose holder already confirmed an existing factor. */
  proven: boolean;
}

export interface MethodPlan {
  offers: Offer[];
  notes: string[];
}

const NAMES: Record<"totp" | "passkey", string> = { totp: "an authenticator app code", passkey: "a passkey" };

/**
 * Which ways of confirming a page offers. A new factor may be set up without proof only by
 * someone who has none (trust on first use); anyone who has one must use it, or prove it on an
 * enrollment link first, so a hijacked chat session cannot add its own authenticator.
 */
export function planMethods(input: MethodPlanInput): MethodPlan {
  const { allowed, serverHas, enrolled } = input;
  const hasFactor = enrolled.totp || enrolled.passkey;
  const notes: string[] = [];
  const offers: Offer[] = [];
  const totpOff = "Authenticator app codes are turned off on this server (PIM_ENCRYPTION_KEY is not set).";

  if (input.purpose === "enroll" && hasFactor && !input.proven) {
    if (enrolled.totp && serverHas.totp) offers.push({ method: "totp", action: "verify" });
    if (enrolled.passkey) offers.push({ method: "passkey", action: "verify" });
    if (serverHas.oidc) offers.push({ method: "oidc", action: "verify" });
    notes.push("You already have a way to confirm it's you. Use it first; then you can add or replace one.");
    return { offers, notes };
  }
  if (input.purpose === "enroll") {
    if (serverHas.totp) offers.push({ method: "totp", action: "enroll" });
    else notes.push(totpOff);
    offers.push({ method: "passkey", action: "enroll" });
    return { offers, notes };
  }

  if (allowed.includes("totp") && serverHas.totp) {
    if (enrolled.totp) offers.push({ method: "totp", action: "verify" });
    else if (!hasFactor) offers.push({ method: "totp", action: "enroll" });
  }
  if (allowed.includes("passkey")) {
    if (enrolled.passkey) offers.push({ method: "passkey", action: "verify" });
    else if (!hasFactor) offers.push({ method: "passkey", action: "enroll" });
  }
  if (allowed.includes("oidc") && serverHas.oidc) offers.push({ method: "oidc", action: "verify" });
  if (offers.some((o) => o.action === "enroll"))
    notes.push("You have not set up a way to confirm it's you yet. The one you set up now also confirms this request.");
  if (offers.length > 0) return { offers, notes };

  // Nothing to offer: say why, as precisely as we can.
  if (allowed.length === 0) notes.push("No MFA method is allowed here; ask an administrator to check the policy.");
  if (allowed.includes("totp") && !serverHas.totp) notes.push(totpOff);
  if (allowed.includes("oidc") && !serverHas.oidc)
    notes.push("Sign-in through your organisation's identity provider is not configured on this server.");
  const settable = allowed.filter((m): m is "totp" | "passkey" => m === "passkey" || (m === "totp" && serverHas.totp));
  if (settable.length > 0) {
    const wanted = settable.map((m) => NAMES[m]).join(" or ");
    notes.push(
      `This needs ${wanted}, which you have not set up. Type /elevate mfa setup in chat, then open this link again.`,
    );
  }
  return { offers, notes };
}
