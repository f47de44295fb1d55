import { dueToTimeOut, lockRequest, type StoredActivation } from "../../db/repos/activations.js";
import { principalById, rolesByIds } from "../../db/repos/directory.js";
import { close } from "../../domain/activation.js";
import { type EngineDeps, inTransaction, type Work } from "../kernel/unit-of-work.js";
import { recordTransition } from "./transitions.js";

/** Closes every still-pending role of a request whose deadline has passed. */
export async function timeOutRequest(work: Work, rows: StoredActivation[]): Promise<number> {
  const due = rows.filter(
    (r) =>
      (r.status === "pending_approval" || r.status === "pending_mfa") &&
      r.approvalDeadline &&
      r.approvalDeadline <= work.now,
  );
  if (due.length === 0) return 0;
  const requester = (await principalById(work.tx, due[0]!.principalId))!;
  const roles = await rolesByIds(
    work.tx,
    due.map((r) => r.roleId),
  );
  for (const row of due) {
    const reason =
      row.status === "pending_mfa" ? "MFA was not completed in time" : "No decision before the approval deadline";
    const closed = close(row, "timed_out", reason, "system", work.now);
    if (closed.ok)
      await recordTransition(work, row, closed.value, {
        actor: "system",
        subject: requester,
        role: roles.get(row.roleId)!,
      });
  }
  return due.length;
}

/** The sweep: times out every overdue request, one transaction per request. */
export async function timeOutDueRequests(deps: EngineDeps, limit = 500): Promise<number> {
  const requestIds = await dueToTimeOut(deps.db, deps.clock.now(), limit);
  let closed = 0;
  for (const requestId of requestIds) {
    closed += await inTransaction(deps, async (work) => timeOutRequest(work, await lockRequest(work.tx, requestId)));
  }
  return closed;
}
