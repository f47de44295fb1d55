import { type StoredActivation, saveTransitions } from "../../db/repos/activations.js";
import { type Principal, principalsByIds, type Role, rolesByIds } from "../../db/repos/directory.js";
import type { Activation } from "../../domain/activation.js";
import type { Work } from "../kernel/unit-of-work.js";

/** The audit fields every event about an activation carries. */
export function activationAudit(a: Activation, who: Pick<Principal, "key">, role: Pick<Role, "key">) {
  return {
    subject: who.key,
    role: role.key,
    scope: a.scope,
    requestId: a.requestId,
    activationId: a.id,
    justification: a.justification,
    ticket: a.ticket,
  };
}

/** One activation's move from `before` to `after`, with who made it and what the audit event adds. */
export interface TransitionRecord {
  before: StoredActivation;
  after: Activation;
  names: { actor: string; subject: Pick<Principal, "key">; role: Pick<Role, "key"> };
  decision?: string;
  approver?: string;
  data?: Record<string, unknown>;
  evidence?: Record<string, unknown>;
}

/**
 * The one way an activation changes: saves any number of transitions in one statement, each
 * checked against the version it was decided on, with one audit event each, and tells chat which
 * requests changed. The transitions themselves are the domain's (src/domain/activation.ts).
 */
export async function recordTransitions(work: Work, records: TransitionRecord[]): Promise<StoredActivation[]> {
  if (records.length === 0) return [];
  await saveTransitions(
    work.tx,
    records.map((r) => ({ next: r.after, version: r.before.version, evidence: r.evidence })),
  );
  const requests = new Set<string>();
  for (const { before, after, names, ...extra } of records) {
    work.audit({
      event: `activation.${after.status}`,
      actor: names.actor,
      ...activationAudit(after, names.subject, names.role),
      decision: extra.decision ?? null,
      approver: extra.approver ?? null,
      data: { from: before.status, ...("reason" in after ? { reason: after.reason } : {}), ...extra.data },
    });
    requests.add(after.requestId);
  }
  for (const requestId of requests) work.emit({ type: "request.changed", requestId });
  return records.map(
    ({ before, after }) =>
      ({ ...after, version: before.version + 1, origin: before.origin, basis: before.basis }) as StoredActivation,
  );
}

/** recordTransitions for one transition. */
export async function recordTransition(
  work: Work,
  stored: StoredActivation,
  next: Activation,
  names: TransitionRecord["names"],
  extra: Pick<TransitionRecord, "decision" | "approver" | "data" | "evidence"> = {},
): Promise<StoredActivation> {
  const [saved] = await recordTransitions(work, [{ before: stored, after: next, names, ...extra }]);
  return saved!;
}

/** Principal and role keys a caller has already, by activation id. */
export type KnownNames = Map<string, { subject: string; role: string }>;

/**
 * The names the audit events of many transitions carry: the actor's key ("system", or the key of
 * the principal whose id is given), the holder's and the role's, read at once for those `known`
 * does not already name. An id no longer in the directory names itself.
 */
export async function transitionNames(
  work: Work,
  items: { activation: StoredActivation; actorId: string }[],
  known?: KnownNames,
): Promise<TransitionRecord["names"][]> {
  const unknown = items.filter(({ activation }) => !known?.has(activation.id));
  const people = [
    ...unknown.map(({ activation }) => activation.principalId),
    ...items.flatMap(({ actorId }) => (actorId === "system" ? [] : [actorId])),
  ];
  const [who, roles] = await Promise.all([
    principalsByIds(work.tx, people),
    rolesByIds(
      work.tx,
      unknown.map(({ activation }) => activation.roleId),
    ),
  ]);
  return items.map(({ activation: a, actorId }) => {
    const given = known?.get(a.id);
    return {
      actor: actorId === "system" ? "system" : (who.get(actorId)?.key ?? actorId),
      subject: { key: given?.subject ?? who.get(a.principalId)?.key ?? a.principalId },
      role: { key: given?.role ?? roles.get(a.roleId)?.key ?? a.roleId },
    };
  });
}
