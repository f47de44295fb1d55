import { lockDueToExpire } from "../../db/repos/activations.js";
import { type EngineDeps, inTransaction } from "../kernel/unit-of-work.js";
import { endActivations } from "./end.js";

/**
 * The sweep: ends up to `limit` activations whose time is up, oldest first, and writes their
 * revokes, in one transaction of a few statements whatever their number. Rows another replica is
 * already ending are skipped. Returns how many ended.
 */
export async function expireDueActivations(deps: EngineDeps, limit = 1000): Promise<number> {
  return inTransaction(deps, async (work) => {
    const due = await lockDueToExpire(work.tx, work.now, limit);
    const ended = await endActivations(
      work,
      due.map((activation) => ({ activation, reason: "expired" as const, byId: "system" })),
    );
    return ended.length;
  });
}
