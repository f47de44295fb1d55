import { inTransaction } from "../app/kernel/unit-of-work.js";
import { principalByKey } from "../db/repos/directory.js";
import { type Refusal, refuse } from "../domain/refusal.js";
import { err, ok, type Result } from "../domain/result.js";
import { removeAllFactors } from "./factors.js";
import { clearLockout } from "./lockout.js";
import { type MfaParts, mfaUrl } from "./parts.js";
import { factorChanged } from "./step-up.js";
import { issueToken } from "./tokens.js";

type AdminParts = Pick<MfaParts, "deps" | "publicUrl" | "enrollment">;

/**
 * An administrator's enrollment invitation: a link that sets up a factor which counts at once,
 * because the administrator vouches for who receives it. Hand it over yourself, outside the chat
 * (in person, on a call you placed): whoever holds the link sets up the person's factor.
 */
export async function inviteToEnroll(
  parts: AdminParts,
  input: { personKey: string; by: string },
): Promise<Result<{ link: string; expiresAt: Date }, Refusal>> {
  return inTransaction(parts.deps, async (work) => {
    const person = await principalByKey(work.tx, input.personKey);
    if (person?.kind !== "user" || person.retiredAt)
      return err(refuse("NOT_FOUND", `There is no active user "${input.personKey}".`));
    const { raw, token } = await issueToken(
      work.tx,
      { purpose: "invite", principalId: person.id },
      work.now,
      parts.enrollment.invitationTtlMs,
    );
    work.audit({
      event: "mfa.invited",
      actor: input.by,
      subject: person.key,
      data: { expiresAt: token.expiresAt.toISOString() },
    });
    return ok({ link: mfaUrl(parts, raw), expiresAt: token.expiresAt });
  });
}

export interface ResetSummary {
  lockout: boolean;
  failures: number;
  factorsRemoved: number;
}

/**
 * An administrator's reset: lifts the person's lockout and forgets their failures; with `factors`,
 * also removes every factor they have (a lost device), each removal told like any other.
 */
export async function resetMfa(
  deps: MfaParts["deps"],
  input: { personKey: string; by: string; factors: boolean },
): Promise<Result<ResetSummary, Refusal>> {
  return inTransaction(deps, async (work) => {
    const person = await principalByKey(work.tx, input.personKey);
    if (person?.kind !== "user") return err(refuse("NOT_FOUND", `There is no user "${input.personKey}".`));
    const cleared = await clearLockout(work.tx, person.id, work.now, input.by);
    const removed = input.factors ? await removeAllFactors(work.tx, person.id) : [];
    work.audit({
      event: "mfa.reset",
      actor: input.by,
      subject: person.key,
      data: { lockout: cleared.lockout, failures: cleared.failures, factorsRemoved: removed.length },
    });
    for (const factor of removed)
      factorChanged(work, person, { change: "removed", method: factor.method, by: input.by });
    return ok({ lockout: cleared.lockout, failures: cleared.failures, factorsRemoved: removed.length });
  });
}
