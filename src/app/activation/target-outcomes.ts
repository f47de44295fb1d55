import { getActivation, lockActivations, type StoredActivation } from "../../db/repos/activations.js";
import { close, confirmGrant, confirmRevoke } from "../../domain/activation.js";
import type { Work } from "../kernel/unit-of-work.js";
import { endActivations } from "./end.js";
import { type KnownNames, recordTransitions, type TransitionRecord, transitionNames } from "./transitions.js";

/**
 * What the outbox worker reports back, inside the transaction that completes the jobs: each a
 * no-op for an activation that has already moved on (a repeated or late confirmation).
 */

/** activating → active for every activation whose grant is confirmed; an extension replaces the one it extends. */
export async function confirmGrants(work: Work, activationIds: string[]): Promise<StoredActivation[]> {
  const moves = (await lockActivations(work.tx, activationIds)).flatMap((before) => {
    const after = confirmGrant(before, work.now);
    return after.ok ? [{ before, after: after.value }] : [];
  });
  const saved = await recordTransitions(work, await named(work, moves));
  for (const { after } of moves) work.emit({ type: "activation.active", activationId: after.id, endsAt: after.endsAt });
  // An extension now holds the role, so ending the one it replaces revokes nothing.
  const extended = await lockActivations(
    work.tx,
    moves.flatMap(({ before }) => (before.extendsId ? [before.extendsId] : [])),
  );
  const by = new Map(moves.map(({ before }) => [before.extendsId, before.id]));
  await endActivations(
    work,
    extended
      .filter((old) => old.status === "active")
      .map((old) => ({ activation: old, reason: "superseded" as const, byId: "system", data: { by: by.get(old.id) } })),
  );
  return saved;
}

export async function grantFailed(
  work: Work,
  activationId: string,
  reason: string,
): Promise<StoredActivation | undefined> {
  const a = await getActivation(work.tx, activationId, true);
  if (!a) return undefined;
  const next = close(a, "failed", reason, "system", work.now);
  if (!next.ok) return undefined;
  work.emit({ type: "alert", kind: "grant_failed", subject: a.principalId, detail: { activationId, reason } });
  const [record] = await named(work, [{ before: a, after: next.value }]);
  const [saved] = await recordTransitions(work, [{ ...record!, data: { error: reason } }]);
  return saved;
}

/** ending → ended for every activation whose revoke is confirmed. */
export async function confirmRevokes(work: Work, activationIds: string[], known?: KnownNames): Promise<number> {
  const moves = (await lockActivations(work.tx, activationIds)).flatMap((before) => {
    const after = confirmRevoke(before, work.now);
    return after.ok ? [{ before, after: after.value }] : [];
  });
  await recordTransitions(work, await named(work, moves, known));
  // An administrator's revoke is told to its holder once it is done, wherever it was asked (the
  // pim command line has no chat of its own); the notice is sent once per activation.
  for (const { before } of moves)
    if (before.status === "ending" && before.reason === "revoked" && before.closedBy !== "system")
      work.emit({
        type: "activation.revoked",
        activationId: before.id,
        requestId: before.requestId,
        holderId: before.principalId,
        revokedBy: null,
        reason: null,
      });
  return moves.length;
}

/** The system's transitions, named with the keys of their principals and roles. */
async function named(
  work: Work,
  moves: { before: StoredActivation; after: TransitionRecord["after"] }[],
  known?: KnownNames,
): Promise<TransitionRecord[]> {
  const names = await transitionNames(
    work,
    moves.map(({ before }) => ({ activation: before, actorId: "system" })),
    known,
  );
  return moves.map((move, i) => ({ ...move, names: names[i]! }));
}
