import type { MfaParts } from "./parts.js";
import { attempt, type Check, type Outcome, settle } from "./step-up.js";
import { takeChallenge } from "./tokens.js";

type Action = "enroll" | "verify";

/** The browser's answer to those options. */
export async function submitPasskey(parts: MfaParts, raw: string, form: URLSearchParams): Promise<Outcome> {
  const action: Action = form.get("action") === "enroll" ? "enroll" : "verify";
  let response: unknown = null;
  try {
    response = JSON.parse(form.get("response") ?? "null");
  } catch {
    response = null;
  }
  const check: Check = {
    offer: { method: "passkey", action },
    run: async (tx, token, person, now, enrollment) => {
      const challenge = await takeChallenge(tx, token);
      if (!challenge || !response || typeof response !== "object")
        return { ok: false, message: "The browser sent no passkey; try again.", counts: false };
      const result =
        action === "enroll"
          ? await parts.passkeys.verifyRegistration(tx, person.id, response, challenge, now, enrollment)
          : await parts.passkeys.verifyAuthentication(tx, person.id, response, challenge, now);
      if (!result.ok) return { ok: false, message: result.message, counts: true };
      return {
        ok: true,
        evidence: {
          method: "passkey",
          credentialId: result.credentialId,
          ...(action === "enroll" ? { enrolled: true } : {}),
        },
      };
    },
  };
  return settle(parts, raw, await attempt(parts, { by: "form", raw, csrf: form.get("csrf") }, check));
}
