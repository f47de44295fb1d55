import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import type { GuardSettings } from "./lockout.js";
import type { OidcStepUp } from "./oidc.js";
import type { TotpFactor } from "./totp.js";
import type { PasskeyFactor } from "./webauthn.js";

/** What every MFA step needs: the engine, where the pages live, and the three factors. */
export interface MfaParts {
  deps: EngineDeps;
  /** PUBLIC_URL; links are `<PUBLIC_URL>/mfa/<token>`. */
  publicUrl: URL;
  linkTtlMs: number;
  totp: TotpFactor;
  passkeys: PasskeyFactor;
  /** Null when no IdP is configured. */
  oidc: OidcStepUp | null;
  /** Failures, backoff, lockout and link issuance limits. */
  guard: GuardSettings;
  /**
   * MFA_ENROLLMENT_DELAY: how long a first factor set up without proof (no IdP, no invitation)
   * waits before it counts; MFA_INVITATION_TTL: how long an administrator's invitation works.
   */
  enrollment: { delayMs: number; invitationTtlMs: number };
}

/** An absolute path under PUBLIC_URL (which may itself sit under a path prefix). */
export function mfaPath(parts: Pick<MfaParts, "publicUrl">, ...segments: string[]): string {
  const base = parts.publicUrl.pathname.replace(/\/+$/, "");
  return [base, "mfa", ...segments].join("/");
}

export function mfaUrl(parts: Pick<MfaParts, "publicUrl">, ...segments: string[]): string {
  return new URL(mfaPath(parts, ...segments), parts.publicUrl).href;
}
