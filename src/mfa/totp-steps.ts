import type { MfaParts } from "./parts.js";
import { attempt, type Outcome, settle, type Verdict } from "./step-up.js";
import type { TotpCheck } from "./totp.js";

/** A code from the person's authenticator app. */
export async function submitTotpCode(parts: MfaParts, raw: string, form: URLSearchParams): Promise<Outcome> {
  const code = form.get("code") ?? "";
  const attempted = await attempt(
    parts,
    { by: "form", raw, csrf: form.get("csrf") },
    {
      offer: { method: "totp", action: "verify" },
      run: async (tx, _token, person, now) => verdictFor(await parts.totp.verifyCode(tx, person.id, code, now), false),
    },
  );
  return settle(parts, raw, attempted);
}

/** The first code from a newly scanned secret: it sets the app up and, on a step-up link, also confirms. */
export async function confirmTotpEnrollment(parts: MfaParts, raw: string, form: URLSearchParams): Promise<Outcome> {
  const code = form.get("code") ?? "";
  const attempted = await attempt(
    parts,
    { by: "form", raw, csrf: form.get("csrf") },
    {
      offer: { method: "totp", action: "enroll" },
      run: async (tx, token, person, now, enrollment) =>
        verdictFor(await parts.totp.confirmEnrollment(tx, token.id, person.id, code, now, enrollment), true),
    },
  );
  return settle(parts, raw, attempted);
}

function verdictFor(check: TotpCheck & { replaced?: boolean }, enrolled: boolean): Verdict {
  if (check.ok)
    return {
      ok: true,
      evidence: {
        method: "totp",
        timeStep: check.timeStep,
        ...(enrolled ? { enrolled } : {}),
        ...(check.replaced ? { replaced: true } : {}),
      },
    };
  switch (check.reason) {
    case "malformed":
      return { ok: false, message: "Enter the 6-digit code your authenticator app shows.", counts: false };
    case "wrong":
      return { ok: false, message: "That code is not right.", counts: true };
    case "replayed":
      return { ok: false, message: "That code was already used. Wait for the next one.", counts: true };
    case "not_enrolled":
      return { ok: false, message: "No authenticator app is set up for you; reload the page.", counts: false };
    default: {
      const never: never = check.reason;
      return never;
    }
  }
}
