import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { inTransaction } from "../app/context.js";
import { mfaOidcFlows } from "../db/schema/mfa.js";
import { describeOidcError, judgeClaims, type StepUpClaims } from "./oidc.js";
import type { MfaParts } from "./parts.js";
import { attempt, message, type Outcome, openGate, settle, type Verdict } from "./step-up.js";

const hashState = (state: string) => createHash("sha256").update(state).digest("hex");

/** Sends the person to the IdP for a fresh sign-in; the state ties the way back to this token. */
export async function startOidc(parts: MfaParts, raw: string): Promise<Outcome> {
  const oidc = parts.oidc;
  if (!oidc) return message(400, "error", "Not available here", "No identity provider is configured on this server.");
  let request: Awaited<ReturnType<typeof oidc.begin>>;
  try {
    request = await oidc.begin();
  } catch (error) {
    return message(502, "error", "Your identity provider did not answer", describeOidcError(error));
  }
  return inTransaction(parts.deps, async (work) => {
    const opened = await openGate(parts, work, { by: "navigation", raw }, { method: "oidc", action: "verify" });
    if (!opened.ok) return opened.outcome;
    await work.tx.insert(mfaOidcFlows).values({
      stateHash: hashState(request.state),
      tokenId: opened.token.id,
      nonce: request.nonce,
      codeVerifier: request.codeVerifier,
      createdAt: work.now,
      expiresAt: new Date(work.now.getTime() + parts.linkTtlMs),
    });
    return { kind: "redirect", location: request.url.href };
  });
}

/** The IdP's redirect back: one use of the state, the code swapped, then the claims judged. */
export async function finishOidc(parts: MfaParts, currentUrl: URL): Promise<Outcome> {
  const oidc = parts.oidc;
  const state = currentUrl.searchParams.get("state");
  if (!oidc || !state) return UNKNOWN_SIGN_IN;
  const flow = await inTransaction(parts.deps, async (work) => {
    const [row] = await work.tx
      .select()
      .from(mfaOidcFlows)
      .where(eq(mfaOidcFlows.stateHash, hashState(state)))
      .for("update");
    if (!row || row.usedAt || row.expiresAt <= work.now) return null;
    await work.tx.update(mfaOidcFlows).set({ usedAt: work.now }).where(eq(mfaOidcFlows.stateHash, row.stateHash));
    return row;
  });
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
      run: async (_tx, _token, person) => {
        if (failure || !claims) return failure ?? { ok: false, message: "No sign-in.", counts: false };
        const judged = judgeClaims(claims, {
          email: person.email,
          acrValues: oidc.settings.acrValues,
          startedAt: flow.createdAt,
        });
        if (!judged.ok) return { ok: false, message: judged.error, counts: true };
        return {
          ok: true,
          evidence: {
            method: "oidc",
            iss: claims.iss,
            sub: claims.sub,
            amr: claims.amr,
            acr: claims.acr,
            authTime: claims.authTime,
          },
        };
      },
    },
  );
  return settle(parts, null, attempted);
}

const UNKNOWN_SIGN_IN = message(
  400,
  "error",
  "This sign-in cannot be used",
  "It is unknown, too old, or was already used. Open the link from chat again and retry.",
);
