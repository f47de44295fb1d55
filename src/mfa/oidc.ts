import * as client from "openid-client";
import { err, ok, type Result } from "../domain/result.js";

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  /** Requested as acr_values; an ID token whose acr is one of them counts as MFA. */
  acrValues: string[];
}

/** What a step-up needs from the ID token (and UserInfo, when the token carries no email). */
export interface StepUpClaims {
  iss: string;
  sub: string;
  /** Entra ID's object id: the same for every app, where `sub` differs per app. */
  oid: string | null;
  email: string | null;
  emailVerified: boolean | null;
  amr: string[];
  acr: string | null;
  authTime: number | null;
}

export interface OidcRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Seconds of clock difference tolerated between us and the IdP. */
const CLOCK_TOLERANCE_S = 30;

/**
 * Step-up against the organisation's IdP (openid-client v6): authorization code with PKCE, a
 * forced fresh login (`prompt=login`, `max_age=0`), and the caller judges the claims.
 */
export class OidcStepUp {
  private config: Promise<client.Configuration> | null = null;

  constructor(
    readonly settings: OidcSettings,
    private readonly callbackUrl: URL,
  ) {}

  async begin(): Promise<OidcRequest> {
    const config = await this.configuration();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const params: Record<string, string> = {
      redirect_uri: this.callbackUrl.href,
      scope: "openid email",
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      prompt: "login",
      max_age: "0",
    };
    if (this.settings.acrValues.length > 0) params.acr_values = this.settings.acrValues.join(" ");
    // Ask for amr and acr by name where the IdP supports it; most send them regardless.
    if (config.serverMetadata().claims_parameter_supported)
      params.claims = JSON.stringify({ id_token: { amr: null, acr: null, auth_time: { essential: true } } });
    return { url: client.buildAuthorizationUrl(config, params), state, nonce, codeVerifier };
  }

  /** Checks state, nonce, PKCE and max_age, swaps the code, and returns the claims. Throws on protocol errors. */
  async finish(
    currentUrl: URL,
    expected: { state: string; nonce: string; codeVerifier: string },
  ): Promise<StepUpClaims> {
    const config = await this.configuration();
    const tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: expected.codeVerifier,
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      maxAge: 0,
    });
    const idToken = tokens.claims();
    if (!idToken) throw new Error("the identity provider returned no ID token");
    let email = typeof idToken.email === "string" ? idToken.email : null;
    let emailVerified = typeof idToken.email_verified === "boolean" ? idToken.email_verified : null;
    if (email === null) {
      const info = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
      email = typeof info.email === "string" ? info.email : null;
      emailVerified = typeof info.email_verified === "boolean" ? info.email_verified : null;
    }
    return {
      iss: idToken.iss,
      sub: idToken.sub,
      oid: typeof idToken.oid === "string" ? idToken.oid : null,
      email,
      emailVerified,
      amr: Array.isArray(idToken.amr) ? idToken.amr.filter((v): v is string => typeof v === "string") : [],
      acr: typeof idToken.acr === "string" ? idToken.acr : null,
      authTime: typeof idToken.auth_time === "number" ? idToken.auth_time : null,
    };
  }

  private configuration(): Promise<client.Configuration> {
    if (!this.config) {
      const issuer = new URL(this.settings.issuer);
      // Plain HTTP only for an IdP on this machine (development, tests); anywhere else it is HTTPS.
      const insecure = issuer.protocol === "http:" && isLoopback(issuer.hostname);
      this.config = client
        .discovery(
          issuer,
          this.settings.clientId,
          this.settings.clientSecret ?? undefined,
          this.settings.clientSecret ? undefined : client.None(),
          insecure ? { execute: [client.allowInsecureRequests] } : undefined,
        )
        .catch((error: unknown) => {
          this.config = null;
          throw error;
        });
    }
    return this.config;
  }
}

/** The IdP account a principal is bound to: the issuer and its stable subject. */
export interface OidcBinding {
  issuer: string;
  subject: string;
}

/** The stable id of the IdP account: Entra's `oid` where there is one, else `sub`. */
export function subjectOf(claims: Pick<StepUpClaims, "oid" | "sub">): string {
  return claims.oid ?? claims.sub;
}

/**
 * Whether an IdP sign-in is a step-up for this person: fresh (after the flow began), with MFA
 * (`amr` contains "mfa", or `acr` is one of the configured values), and for their own account.
 * Their own account is the one bound to them (issuer and subject), whatever its e-mail says now;
 * the first sign-in binds it, and only with the person's e-mail, verified by the IdP (a missing
 * `email_verified` is not a yes). `bind` says that this sign-in makes the binding.
 */
export function judgeClaims(
  claims: StepUpClaims,
  expected: { email: string | null; binding: OidcBinding | null; acrValues: string[]; startedAt: Date },
): Result<{ bind: boolean }, string> {
  if (claims.authTime === null) return err("Your identity provider did not say when you signed in.");
  if (claims.authTime < Math.floor(expected.startedAt.getTime() / 1000) - CLOCK_TOLERANCE_S)
    return err("Your identity provider reused an earlier sign-in instead of asking you again.");
  const mfa = claims.amr.includes("mfa") || (claims.acr !== null && expected.acrValues.includes(claims.acr));
  if (!mfa)
    return err(
      "Your sign-in did not use multi-factor authentication. Sign in again with your second factor, or use another method.",
    );
  const someoneElse = "You signed in as someone else. Sign in with your own account to confirm it's you.";
  if (expected.binding) {
    const same = expected.binding.issuer === claims.iss && expected.binding.subject === subjectOf(claims);
    return same ? ok({ bind: false }) : err(someoneElse);
  }
  const email = expected.email?.toLowerCase() ?? null;
  if (email === null || claims.email === null || claims.email.toLowerCase() !== email) return err(someoneElse);
  if (claims.emailVerified !== true)
    return err("Your identity provider has not said that your email address is verified.");
  return ok({ bind: true });
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export function describeOidcError(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError)
    return `Your identity provider refused the sign-in (${error.error}${error.error_description ? `: ${error.error_description}` : ""}).`;
  const message = error instanceof Error ? error.message : String(error);
  return `The sign-in could not be checked: ${message.length > 200 ? `${message.slice(0, 200)}…` : message}`;
}
