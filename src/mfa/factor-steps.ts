import { inTransaction } from "../app/kernel/unit-of-work.js";
import { principalById } from "../db/repos/directory.js";
import { removeFactor } from "./factors.js";
import { standingOf } from "./lockout.js";
import { mayChangeFactors } from "./page-state.js";
import type { MfaParts } from "./parts.js";
import {
  auditRefusal,
  CSRF_REFUSED,
  factorChanged,
  message,
  type Outcome,
  problemOutcome,
  reloadPage,
} from "./step-up.js";
import { csrfMatches, findToken } from "./tokens.js";

/** POST /mfa/<token>/factor/remove: one of the person's own factors, from their factor list. */
export async function removeOwnFactor(parts: MfaParts, raw: string, form: URLSearchParams): Promise<Outcome> {
  const factorId = form.get("factor") ?? "";
  const done = await inTransaction(parts.deps, async (work): Promise<Outcome | { removed: string }> => {
    const found = await findToken(work.tx, raw, work.now, true);
    if (!found.ok) return problemOutcome(found.problem, parts);
    const { token } = found;
    const person = (await principalById(work.tx, token.principalId))!;
    if (!csrfMatches(token, form.get("csrf"))) {
      auditRefusal(work, person, token, "CSRF", { step: "factor/remove" });
      return CSRF_REFUSED;
    }
    if ((await standingOf(work.tx, person.id, work.now, parts.guard)).state === "locked")
      return problemOutcome("locked", parts);
    if (!(await mayChangeFactors(parts, work.tx, token, work.now))) {
      auditRefusal(work, person, token, "NOT_PROVEN", { step: "factor/remove" });
      return message(403, "error", "Confirm it's you first", "Use a way you already have, then remove one.");
    }
    const removed = await removeFactor(work.tx, person.id, factorId);
    if (!removed) return message(404, "error", "No such factor", "It may have been removed already; reload the page.");
    factorChanged(work, person, { change: "removed", method: removed.method });
    return { removed: removed.method === "totp" ? "Your authenticator app" : "The passkey" };
  });
  if ("kind" in done) return done;
  return reloadPage(parts, raw, { tone: "ok", text: `${done.removed} was removed.` }, 200);
}
