import { decisionsForRequest, insertDecision, lockRequest, type StoredActivation } from "../../db/repos/activations.js";
import { principalById, principalsByIds, rolesByIds } from "../../db/repos/directory.js";
import { approve, close } from "../../domain/activation.js";
import { checkApprover, checkComment, countCurrentApprovals, type Decision } from "../../domain/approval.js";
import { type Refusal, refuse } from "../../domain/refusal.js";
import { err, ok, type Result } from "../../domain/result.js";
import { newId } from "../kernel/ids.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { checkStepUpEvidence, rolesNeedingStepUp, stepUpRequired } from "./approver-step-up.js";
import { approversFor } from "./approvers.js";
import { enqueueHoldings, grantFor, type HoldingJob } from "./holding-jobs.js";
import { lostBackingOf } from "./offboarding.js";
import type { MfaEvidence } from "./satisfy-mfa.js";
import { timeOutRequest } from "./time-out.js";
import { recordTransition } from "./transitions.js";

export interface DecideInput {
  requestId: string;
  approverId: string;
  decision: "approve" | "deny";
  comment?: string | null;
  /** Set only by the MFA pages once the approver passed a step-up (see approver-step-up.ts). */
  stepUp?: MfaEvidence;
}

export interface DecideOutcome {
  activations: StoredActivation[];
  /** True when this decision finished the request (enough approvals, or a denial). */
  decided: boolean;
}

/** What a late or refused clicker is told happened before them. */
export type DecideRefusal = Refusal & { decidedBy?: { approverId: string; decision: string; at: Date } };

/**
 * Records one approver's decision on every role of a request they may decide. Rows are locked
 * first, so two approvers clicking at the same moment queue: one outcome, one grant job.
 */
export async function decide(deps: EngineDeps, input: DecideInput): Promise<Result<DecideOutcome, DecideRefusal>> {
  return inTransaction(deps, async (work) => {
    // The decisions so far travel with the lock, and are read once it is held.
    const [rows, earlier] = await Promise.all([
      lockRequest(work.tx, input.requestId),
      decisionsForRequest(work.tx, input.requestId),
    ]);
    const approver = await principalById(work.tx, input.approverId);
    if (rows.length === 0 || !approver) return err(refuse("NOT_FOUND", "This request does not exist."));
    const requester = (await principalById(work.tx, rows[0]!.principalId))!;
    const roles = await rolesByIds(
      work.tx,
      rows.map((r) => r.roleId),
    );
    const refused = (refusal: DecideRefusal, alert = false) => {
      work.audit({
        event: "approval.refused",
        actor: approver.key,
        subject: requester.key,
        requestId: input.requestId,
        decision: input.decision,
        approver: approver.key,
        data: { code: refusal.code, message: refusal.message },
      });
      if (alert)
        work.emit({
          type: "alert",
          kind: "unauthorized_approval",
          subject: approver.key,
          detail: { requestId: input.requestId, requester: requester.key },
        });
      return err(refusal);
    };

    if (rows.every((r) => r.status === "pending_mfa")) {
      return refused(
        refuse("WRONG_STATE", `${requester.name} has not completed MFA yet; decide once the request reaches you.`),
      );
    }
    const pending = rows.filter((r) => r.status === "pending_approval");
    if (pending.length === 0) return refused(await alreadyDecided(work, rows, earlier));
    if (pending.some((r) => r.approvalDeadline && r.approvalDeadline <= work.now)) {
      await timeOutRequest(work, rows);
      return refused(
        refuse("APPROVAL_TIMED_OUT", "This request timed out before it was decided; the requester can ask again."),
      );
    }

    // The requester may have left the policy or lost the eligibility since asking.
    const lost = await lostBackingOf(work, requester, pending);
    if (lost) return refused(lost);

    const comment = input.comment?.trim() || null;
    const commentOk = checkComment(comment);
    if (!commentOk.ok) return refused(commentOk.error);

    const mine: StoredActivation[] = [];
    const approversOf = new Map<string, Set<string>>();
    let firstRefusal: Refusal | undefined;
    for (const row of pending) {
      const approvers = await approversFor(work.tx, roles.get(row.roleId)!, requester.id, work.now);
      approversOf.set(row.id, approvers);
      const verdict = checkApprover(
        approver.id,
        requester.id,
        approvers,
        earlier.filter((d) => d.activationId === row.id),
      );
      if (verdict.ok) mine.push(row);
      else firstRefusal ??= verdict.error;
    }
    if (mine.length === 0) {
      const refusal = firstRefusal ?? refuse("NOT_AN_APPROVER", "You are not an approver for this request.");
      return refused(refusal, refusal.code === "NOT_AN_APPROVER" || refusal.code === "SELF_APPROVAL");
    }

    if (input.decision === "approve" && comment === null) {
      const needing = mine.map((r) => roles.get(r.roleId)!).filter((r) => r.policy.activation.requireApprovalComment);
      if (needing.length > 0)
        return refused(
          refuse(
            "COMMENT_REQUIRED",
            `A comment is required to approve ${[...new Set(needing.map((r) => r.name))].join(" and ")}: write it in the comment box, then click Approve.`,
          ),
        );
    }

    const guarded = input.decision === "approve" ? mine.map((r) => roles.get(r.roleId)!) : [];
    if (rolesNeedingStepUp(guarded).length > 0) {
      if (!input.stepUp) return err(stepUpRequired(work, approver, requester, mine, comment));
      const accepted = checkStepUpEvidence(guarded, input.stepUp);
      if (!accepted.ok) return refused(accepted.error);
    }
    const names = (roleId: string) => ({ actor: approver.key, subject: requester, role: roles.get(roleId)! });
    for (const row of mine) {
      await insertDecision(work.tx, {
        id: newId("apv"),
        activationId: row.id,
        requestId: row.requestId,
        approverId: approver.id,
        decision: input.decision,
        comment,
        decidedAt: work.now,
      });
      work.audit({
        event: `approval.${input.decision}`,
        actor: approver.key,
        subject: requester.key,
        role: roles.get(row.roleId)!.key,
        scope: row.scope,
        requestId: row.requestId,
        activationId: row.id,
        decision: input.decision,
        approver: approver.key,
        justification: row.justification,
        ticket: row.ticket,
        data: input.stepUp ? { comment, stepUp: input.stepUp.method } : { comment },
      });
    }
    // Every recorded decision changes what the request's cards say (approvals so far), even one
    // short of the count that changes no state: cards are redrawn from this event alone.
    work.emit({ type: "request.changed", requestId: input.requestId });

    const after: StoredActivation[] = [];
    if (input.decision === "deny") {
      // The first denial ends the whole request, including roles this approver does not decide.
      for (const row of pending) {
        const closed = close(row, "denied", comment ?? `Denied by ${approver.name}`, approver.key, work.now);
        if (closed.ok)
          after.push(
            await recordTransition(work, row, closed.value, names(row.roleId), {
              decision: "deny",
              approver: approver.key,
            }),
          );
      }
      return ok({ activations: after, decided: true });
    }
    const grants: HoldingJob[] = [];
    for (const row of mine) {
      const sameRole = earlier.filter((d) => d.activationId === row.id);
      const count = countCurrentApprovals(sameRole, approversOf.get(row.id)!) + 1;
      const next = approve(row, count);
      if (!next.ok || next.value.status !== "activating") continue;
      after.push(
        await recordTransition(work, row, next.value, names(row.roleId), {
          decision: "approve",
          approver: approver.key,
          data: { approvals: count },
        }),
      );
      grants.push(grantFor(next.value, work));
    }
    await enqueueHoldings(work, grants);
    return ok({ activations: after, decided: after.length > 0 && after.length === pending.length });
  });
}

async function alreadyDecided(
  work: Work,
  rows: StoredActivation[],
  decisions: { approverId: string; decision: string; decidedAt: Date }[],
): Promise<DecideRefusal> {
  const last = decisions.at(-1) as (Decision & { approverId: string }) | undefined;
  const status = rows[0]!.status;
  if (!last) return refuse("ALREADY_DECIDED", `This request is already ${status.replace("_", " ")}.`);
  const who = (await principalsByIds(work.tx, [last.approverId])).get(last.approverId);
  const verb = last.decision === "approve" ? "approved" : "denied";
  return {
    ...refuse(
      "ALREADY_DECIDED",
      `Already ${verb} by ${who?.name ?? "another approver"} at ${last.decidedAt.toISOString()}.`,
    ),
    decidedBy: { approverId: last.approverId, decision: last.decision, at: last.decidedAt },
  };
}
