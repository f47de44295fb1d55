import { principalsByIds } from "../../db/repos/directory.js";
import type { Refusal } from "../../domain/refusal.js";
import type { Work } from "./unit-of-work.js";

/**
 * Audits a refused action on someone's activation or request (a forged button value, a click on
 * another person's card): who tried, whose it was, and why it was refused.
 */
export async function auditRefused(
  work: Work,
  refusal: Refusal,
  about: { action: string; actorId: string; ownerId: string; requestId?: string; activationId?: string },
): Promise<void> {
  const people = await principalsByIds(work.tx, [about.actorId, about.ownerId]);
  work.audit({
    event: "activation.refused",
    actor: people.get(about.actorId)?.key ?? about.actorId,
    subject: people.get(about.ownerId)?.key ?? about.ownerId,
    requestId: about.requestId ?? null,
    activationId: about.activationId ?? null,
    data: { action: about.action, code: refusal.code, message: refusal.message },
  });
}
