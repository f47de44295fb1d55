import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { inTransaction } from "../app/kernel/unit-of-work.js";
import type { Executor } from "../db/client.js";
import { principalById } from "../db/repos/directory.js";
import { insertOidcBinding, oidcBindingOf, principalsBoundTo } from "../db/repos/oidc-bindings.js";
import { insertOidcFlow, lockOidcFlow, markOidcFlowUsed } from "../db/repos/oidc-flows.js";
import { describeOidcError, judgeClaims, type OidcBinding, type StepUpClaims, subjectOf } from "./oidc.js";
import { type MfaParts, mfaPath } from "./parts.js";
import { attempt, auditRefusal, message, type Outcome, openGate, settle, type Verdict } from "./step-up.js";
import { tokenById } from "./tokens.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The cookie that ties an IdP sign-in to the browser that started it. */
export const BROWSER_COOKIE = "pim_oidc";

function browserCookie(parts: MfaParts, value: string, maxAgeS: number): string {
  const secure = parts.publicUrl.protocol === "https:" ? "; Secure" : "";
  // Lax: sent on the IdP's top-level redirect back to us, never on another site's subrequests.
  return `${BROWSER_COOKIE}=${value}; Path=${mfaPath(parts, "oidc")}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${secure}`;
}

function cookieValue(header: string | undefined): string | null {
  for (const part of (header ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === BROWSER_COOKIE) return rest.join("=");
  }
  return null;
}

function sameBrowser(expectedHash: string | null, cookie: string | null): boolean {
  if (!expectedHash || !cookie) return false;
  const a = Buffer.from(expectedHash);
  const b = Buffer.from(sha256(cookie));
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Sends the person to the IdP for a fresh sign-in. The state ties the way back to this token, and
 * a short-lived cookie ties it to this browser: a callback opened anywhere else is refused.
 */
export async function startOidc(parts: MfaParts, raw: string): Promise<Outcome> {
  const oidc = parts.oidc;
  if (!oidc) return message(400, "error", "Not available here", "No identity provider is configured on this server.");
  let request: Awaited<ReturnType<typeof oidc.begin>>;
  try {
    request = await oidc.begin();
  } catch (error) {
    return message(502, "error", "Your identity provider did not answer", describeOidcError(error));
  }
  const browser = randomBytes(32).toString("base64url");
  return inTransaction(parts.deps, async (work) => {
    const opened = await openGate(parts, work, { by: "navigation", raw }, { method: "oidc", action: "verify" });
    if (!opened.ok) return opened.outcome;
    await insertOidcFlow(work.tx, {
      stateHash: sha256(request.state),
      tokenId: opened.token.id,
      nonce: request.nonce,
      codeVerifier: request.codeVerifier,
      browserHash: sha256(browser),
      createdAt: work.now,
      expiresAt: new Date(work.now.getTime() + parts.linkTtlMs),
    });
    return {
      kind: "redirect",
      location: request.url.href,
      cookies: [browserCookie(parts, browser, Math.ceil(parts.linkTtlMs / 1000))],
    };
  });
}

/** The IdP's redirect back: the same browser, one use of the state, the code swapped, then the claims judged. */
export async function finishOidc(parts: MfaParts, currentUrl: URL, cookieHeader?: string): Promise<Outcome> {
  const oidc = parts.oidc;
  const state = currentUrl.searchParams.get("state");
  if (!oidc || !state) return UNKNOWN_SIGN_IN;
  const flow = await inTransaction(parts.deps, async (work) => {
    const row = await lockOidcFlow(work.tx, sha256(state));
    if (!row || row.usedAt || row.expiresAt <= work.now) return null;
    if (!sameBrowser(row.browserHash, cookieValue(cookieHeader))) {
      // Someone else's browser brought the callback (a link passed on, a login CSRF): the flow stays
      // usable for the browser that started it.
      const token = await tokenById(work.tx, row.tokenId, work.now);
      const person = token.ok ? ((await principalById(work.tx, token.token.principalId)) ?? null) : null;
      auditRefusal(work, person, token.ok ? token.token : null, "OIDC_OTHER_BROWSER");
      return "other_browser" as const;
    }
    await markOidcFlowUsed(work.tx, row.stateHash, work.now);
    return row;
  });
  if (flow === "other_browser") return OTHER_BROWSER;
  if (!flow) return UNKNOWN_SIGN_IN;

  let claims: StepUpClaims | null = null;
  let failure: Verdict | null = null;
  try {
    claims = await oidc.finish(currentUrl, { state, nonce: flow.nonce, codeVerifier: flow.codeVerifier });
  } catch (error) {
    // A refused sign-in counts as a failed try; our own trouble reaching the IdP does not.
    const refused = currentUrl.searchParams.has("error");
    failure = { ok: false, message: describeOidcError(error), counts: refused };
  }
  const attempted = await attempt(
    parts,
    { by: "oidc", tokenId: flow.tokenId },
    {
      offer: { method: "oidc", action: "verify" },
      run: async (tx, _token, person, now) => {
        if (failure || !claims) return failure ?? { ok: false, message: "No sign-in.", counts: false };
        const judged = judgeClaims(claims, {
          email: person.email,
          binding: await oidcBindingOf(tx, person.id),
          acrValues: oidc.settings.acrValues,
          startedAt: flow.createdAt,
        });
        if (!judged.ok) return { ok: false, message: judged.error, counts: true };
        const subject = subjectOf(claims);
        if (judged.value.bind && !(await bind(tx, person.id, { issuer: claims.iss, subject }, now)))
          return {
            ok: false,
            message: "That account at your identity provider is already bound to someone else.",
            counts: true,
          };
        return {
          ok: true,
          evidence: {
            method: "oidc",
            iss: claims.iss,
            sub: subject,
            amr: claims.amr,
            acr: claims.acr,
            authTime: claims.authTime,
            ...(judged.value.bind ? { bound: true } : {}),
          },
        };
      },
    },
  );
  return settle(parts, null, attempted);
}

/** Binds the IdP account to the person; false when that account is someone else's already. */
async function bind(db: Executor, principalId: string, binding: OidcBinding, now: Date): Promise<boolean> {
  const taken = await principalsBoundTo(db, binding);
  if (taken.some((id) => id !== principalId)) return false;
  return insertOidcBinding(db, principalId, binding, now);
}

const UNKNOWN_SIGN_IN = message(
  400,
  "error",
  "This sign-in cannot be used",
  "It is unknown, too old, or was already used. Open the link from chat again and retry.",
);

const OTHER_BROWSER = message(
  400,
  "error",
  "This sign-in was started in another browser",
  "Finish it in the browser where you opened the link from chat, or open the link again here.",
);
