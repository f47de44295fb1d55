import { getActivation } from "../../db/repos/activations.js";
import { refuse } from "../../domain/refusal.js";
import { err, type Result } from "../../domain/result.js";
import { auditRefused } from "../kernel/refusals.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import {
  type Origin,
  type RequestActivationInput,
  type RequestOutcome,
  type RequestRefusal,
  requestActivation,
} from "./request.js";

export interface ExtendInput {
  activationId: string;
  userId: string;
  /** The new duration, counted from now; the extension replaces the current activation without a gap. */
  durationMs: number;
  justification?: string | null;
  ticket?: string | null;
  origin: Origin;
}

/** An extension goes through the role's policy like any request: MFA, approval and limits apply again. */
export async function requestExtension(
  deps: EngineDeps,
  input: ExtendInput,
): Promise<Result<RequestOutcome, RequestRefusal>> {
  const current = await getActivation(deps.db, input.activationId);
  if (!current) return err(refuse("NOT_FOUND", "This activation does not exist."));
  if (current.principalId !== input.userId) {
    const refusal = refuse("NOT_YOURS", "You can only extend your own activations.");
    await inTransaction(deps, (work) =>
      auditRefused(work, refusal, {
        action: "extend",
        actorId: input.userId,
        ownerId: current.principalId,
        requestId: current.requestId,
        activationId: current.id,
      }),
    );
    return err(refusal);
  }
  if (current.status !== "active")
    return err(refuse("WRONG_STATE", "Only an active role can be extended; request it again instead."));
  return requestActivation(deps, {
    requesterId: input.userId,
    roles: [{ roleId: current.roleId, scope: current.scope }],
    durationMs: input.durationMs,
    justification: input.justification ?? current.justification,
    ticket: input.ticket ?? current.ticket,
    origin: input.origin,
    extendsId: current.id,
  });
}

/** Asks again for what an ended, denied or timed-out request asked for. */
export async function renewRequest(
  deps: EngineDeps,
  input: { activationId: string; userId: string; origin: Origin } & Partial<
    Pick<RequestActivationInput, "durationMs" | "justification" | "ticket">
  >,
): Promise<Result<RequestOutcome, RequestRefusal>> {
  const previous = await getActivation(deps.db, input.activationId);
  if (!previous) return err(refuse("NOT_FOUND", "This activation does not exist."));
  if (previous.principalId !== input.userId) {
    const refusal = refuse("NOT_YOURS", "You can only renew your own requests.");
    await inTransaction(deps, (work) =>
      auditRefused(work, refusal, {
        action: "renew",
        actorId: input.userId,
        ownerId: previous.principalId,
        requestId: previous.requestId,
        activationId: previous.id,
      }),
    );
    return err(refusal);
  }
  if (!["ended", "denied", "timed_out", "canceled", "failed"].includes(previous.status)) {
    return err(refuse("WRONG_STATE", "This request is still open; there is nothing to renew."));
  }
  return requestActivation(deps, {
    requesterId: input.userId,
    roles: [{ roleId: previous.roleId, scope: previous.scope }],
    durationMs: input.durationMs ?? previous.durationMs,
    justification: input.justification ?? previous.justification,
    ticket: input.ticket ?? previous.ticket,
    origin: input.origin,
  });
}
